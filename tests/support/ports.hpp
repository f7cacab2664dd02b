// A loopback TCP port that was free a moment ago, for configs that must name their port up front.
#pragma once

namespace s2s::testing {

// Binds 127.0.0.1:0, reads the port the kernel chose and closes the socket. Another process can
// take the port before the caller binds it, so prefer port 0 wherever the listener can report
// its port. Throws std::runtime_error when no socket can be bound.
int free_loopback_port();

}  // namespace s2s::testing
