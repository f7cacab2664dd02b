// Which calls are long-lived streams.
#include "rpc/stream_channels.hpp"

namespace s2s::rpc {

bool is_long_lived_stream(std::string_view method) {
  auto slash = method.rfind('/');
  auto name = slash == std::string_view::npos ? method : method.substr(slash + 1);
  return name.starts_with("Stream");
}

}  // namespace s2s::rpc
