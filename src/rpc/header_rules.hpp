// Which metadata entries the proxy copies from one hop to the next.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace s2s::rpc {

using metadata_list = std::vector<std::pair<std::string, std::string>>;

// True for application metadata; false for HTTP/2 pseudo-headers and the entries the
// gRPC transport writes itself on every hop (grpc-*, te, content-type, user-agent, ...),
// which would be duplicated or contradicted if copied.
bool is_forwardable_header(std::string_view key);

}  // namespace s2s::rpc
