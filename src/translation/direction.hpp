// Which way a message travels: the side of the proxy it arrived on and the direction names are translated.
#pragma once

#include <string_view>

namespace s2s::translation {

// outbound: the local Temporal calls out to the remote side; inbound: the remote side calls in.
enum class side { outbound, inbound };

enum class direction { local_to_remote, remote_to_local };

// Outbound requests and inbound responses go local to remote; the other two go remote to local.
constexpr direction direction_of(side s, bool is_request) {
  return (s == side::outbound) == is_request ? direction::local_to_remote : direction::remote_to_local;
}

constexpr direction reverse(direction d) {
  return d == direction::local_to_remote ? direction::remote_to_local : direction::local_to_remote;
}

constexpr std::string_view to_string(side s) { return s == side::outbound ? "outbound" : "inbound"; }
constexpr std::string_view to_string(direction d) {
  return d == direction::local_to_remote ? "local_to_remote" : "remote_to_local";
}

}  // namespace s2s::translation
