// Base64 as gRPC uses it for binary metadata (-bin keys): the standard alphabet, written without
// padding, read with or without it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace s2s::http2 {

std::string base64_encode(std::string_view bytes);
// Nothing when `text` is not base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace s2s::http2
