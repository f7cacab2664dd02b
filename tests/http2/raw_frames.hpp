// Hand-written HTTP/2 frames, for peers that break the rules on purpose, and a reader of what comes back.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace s2s::http2::testing {

using bytes = std::vector<std::uint8_t>;

inline constexpr std::uint8_t data_frame = 0x0, headers_frame = 0x1, rst_stream_frame = 0x3, settings_frame = 0x4,
                              ping_frame = 0x6, goaway_frame = 0x7, window_update_frame = 0x8;
inline constexpr std::uint8_t end_stream_flag = 0x1, end_headers_flag = 0x4, ack_flag = 0x1;

bytes frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, const bytes& payload);
// The client preface and an empty SETTINGS: what every client starts with.
bytes client_start();
// A HEADERS block (HPACK, static table and literals only) for POST http://x/ on `stream`.
bytes post_headers(std::uint32_t stream, bool end_stream);

struct raw_frame {
  std::uint8_t type;
  std::uint8_t flags;
  std::uint32_t stream;
  bytes payload;
  std::uint32_t u32(std::size_t at) const;  // a big-endian word of the payload
};
// Splits `wire` into frames; a trailing partial frame is ignored.
std::vector<raw_frame> parse_frames(std::span<const std::uint8_t> wire);

}  // namespace s2s::http2::testing
