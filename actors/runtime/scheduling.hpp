// How the proxy's process runs: how its actors and grpc's threads are scheduled, and how it
// allocates.
#pragma once

#include <cstddef>

#include <caf/fwd.hpp>

namespace s2s::actors {

// Workers that sleep until work arrives instead of polling: a call pays one wake-up per hop
// rather than competing with spinning workers for the cores grpc++ needs; and a clock thread
// that an ending actor wakes only if it had set a timeout. Also picks grpc's
// polling engine (see scheduling.cpp) and turns off Abseil's lock-order checking, which costs
// every grpc++ operation a graph update. Call before grpc is first used.
void tune_scheduler(caf::actor_system_config& config);

// Keeps freed memory in the allocator instead of handing it back to the kernel after every
// call (see scheduling.cpp), and starts the thread "s2s-mem-trim", which hands it back once
// large messages have come and gone. Call first thing in main.
void tune_allocator();

// A message of at least this many bytes counts as large for the allocator.
inline constexpr std::size_t large_message_bytes = 1024 * 1024;

// Tells the allocator that a large message was queued or written just now. Cheap: one atomic add.
void note_large_message();

}  // namespace s2s::actors
