// Which metadata entries the proxy copies from one hop to the next.
#include "rpc/header_rules.hpp"

#include <array>

namespace s2s::rpc {

bool is_forwardable_header(std::string_view key) {
  if (key.empty() || key.front() == ':' || key.starts_with("grpc-"))
    return false;
  static constexpr std::array<std::string_view, 7> transport_owned = {
      "te", "content-type", "user-agent", "host", "connection", "accept-encoding", "content-encoding"};
  for (auto owned : transport_owned)
    if (key == owned)
      return false;
  return true;
}

}  // namespace s2s::rpc
