// Frame bytes by hand, following RFC 9113 §4.1 and RFC 7541's static table.
#include "raw_frames.hpp"

#include <string_view>

namespace s2s::http2::testing {

bytes frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, const bytes& payload) {
  const auto n = static_cast<std::uint32_t>(payload.size());
  bytes out = {static_cast<std::uint8_t>(n >> 16),
               static_cast<std::uint8_t>(n >> 8),
               static_cast<std::uint8_t>(n),
               type,
               flags,
               static_cast<std::uint8_t>(stream >> 24),
               static_cast<std::uint8_t>(stream >> 16),
               static_cast<std::uint8_t>(stream >> 8),
               static_cast<std::uint8_t>(stream)};
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

bytes client_start() {
  constexpr std::string_view preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  bytes out(preface.begin(), preface.end());
  const auto settings = frame(settings_frame, 0, 0, {});
  out.insert(out.end(), settings.begin(), settings.end());
  return out;
}

bytes post_headers(std::uint32_t stream, bool end_stream) {
  // Indexed :method POST (3), :scheme http (6), :path / (4); :authority "x" as a literal on index 1.
  const bytes block = {0x83, 0x86, 0x84, 0x41, 0x01, 'x'};
  return frame(headers_frame, end_headers_flag | (end_stream ? end_stream_flag : 0), stream, block);
}

std::uint32_t raw_frame::u32(std::size_t at) const {
  return (std::uint32_t{payload.at(at)} << 24) | (std::uint32_t{payload.at(at + 1)} << 16) |
         (std::uint32_t{payload.at(at + 2)} << 8) | payload.at(at + 3);
}

std::vector<raw_frame> parse_frames(std::span<const std::uint8_t> wire) {
  std::vector<raw_frame> out;
  std::size_t at = 0;
  while (wire.size() - at >= 9) {
    const std::size_t n = (std::size_t{wire[at]} << 16) | (std::size_t{wire[at + 1]} << 8) | wire[at + 2];
    if (wire.size() - at - 9 < n)
      break;
    raw_frame f{wire[at + 3], wire[at + 4],
                ((std::uint32_t{wire[at + 5]} & 0x7f) << 24) | (std::uint32_t{wire[at + 6]} << 16) |
                    (std::uint32_t{wire[at + 7]} << 8) | wire[at + 8],
                bytes(wire.begin() + static_cast<std::ptrdiff_t>(at + 9),
                      wire.begin() + static_cast<std::ptrdiff_t>(at + 9 + n))};
    out.push_back(std::move(f));
    at += 9 + n;
  }
  return out;
}

}  // namespace s2s::http2::testing
