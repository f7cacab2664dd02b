// How the proxy's actor system schedules its actors.
#pragma once

#include <caf/fwd.hpp>

namespace s2s::actors {

// Workers that sleep until work arrives instead of polling: a call pays one wake-up per hop
// rather than competing with spinning workers for the cores grpc++ needs. Also turns off
// Abseil's lock-order checking, which costs every grpc++ operation a graph update.
void tune_scheduler(caf::actor_system_config& config);

}  // namespace s2s::actors
