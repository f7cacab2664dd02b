// Sizes and timings that every gRPC hop of the proxy shares.
#pragma once

#include <cstddef>

namespace s2s::rpc {

// Temporal allows internode messages of up to 128 MiB; the proxy must carry them whole.
inline constexpr int max_message_bytes = 128 * 1024 * 1024;

}  // namespace s2s::rpc
