// The mailbox depth an actor reports about itself: the messages waiting behind the one it is
// handling. Only the actor may look at its own mailbox, so it is read inside a handler (each
// long-lived actor does so when it answers a stats request) and never from outside.
#pragma once

#include <cstddef>

#include <caf/scheduled_actor.hpp>

namespace s2s::actors {

inline std::size_t messages_waiting(caf::scheduled_actor* self) { return self->mailbox().size(); }

}  // namespace s2s::actors
