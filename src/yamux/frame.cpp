// Encoding and decoding of yamux frame headers.
#include "yamux/frame.hpp"

#include <algorithm>

namespace s2s::yamux {

namespace {

void put_u16(std::uint8_t* out, std::uint16_t value) {
  out[0] = static_cast<std::uint8_t>(value >> 8);
  out[1] = static_cast<std::uint8_t>(value);
}

void put_u32(std::uint8_t* out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i)
    out[i] = static_cast<std::uint8_t>(value >> (24 - 8 * i));
}

std::uint32_t get_u32(const std::uint8_t* in) {
  return (std::uint32_t{in[0]} << 24) | (std::uint32_t{in[1]} << 16) | (std::uint32_t{in[2]} << 8) |
         std::uint32_t{in[3]};
}

}  // namespace

std::string describe(go_away_code code) {
  switch (code) {
    case go_away_code::normal:
      return "normal";
    case go_away_code::protocol_error:
      return "protocol error";
    case go_away_code::internal_error:
      return "internal error";
  }
  return "unknown code " + std::to_string(static_cast<std::uint32_t>(code));
}

frame_header make_header(frame_type type, std::uint16_t flags, stream_id stream, std::uint32_t length) {
  return frame_header{protocol_version, static_cast<std::uint8_t>(type), flags, stream, length};
}

std::array<std::uint8_t, header_size> encode(const frame_header& header) {
  std::array<std::uint8_t, header_size> out{};
  out[0] = header.version;
  out[1] = header.type;
  put_u16(&out[2], header.flags);
  put_u32(&out[4], header.stream);
  put_u32(&out[8], header.length);
  return out;
}

frame_header decode(std::span<const std::uint8_t, header_size> bytes) {
  frame_header header;
  header.version = bytes[0];
  header.type = bytes[1];
  header.flags = static_cast<std::uint16_t>((bytes[2] << 8) | bytes[3]);
  header.stream = get_u32(&bytes[4]);
  header.length = get_u32(&bytes[8]);
  return header;
}

void append_frame(std::vector<std::uint8_t>& out, const frame_header& header, std::span<const std::uint8_t> payload) {
  const auto bytes = encode(header);
  out.insert(out.end(), bytes.begin(), bytes.end());
  out.insert(out.end(), payload.begin(), payload.end());
}

std::optional<std::string> check_header(const frame_header& header) {
  if (header.version != protocol_version) {
    return "frame has protocol version " + std::to_string(header.version) + ", only version 0 exists";
  }
  if (header.type > last_frame_type) {
    return "frame has unknown type " + std::to_string(header.type);
  }
  const bool session_level = header.is(frame_type::ping) || header.is(frame_type::go_away);
  if (session_level && header.stream != 0) {
    return std::string(header.is(frame_type::ping) ? "ping" : "go-away") + " frame names stream " +
           std::to_string(header.stream) + ", it must name stream 0";
  }
  if (!session_level && header.stream == 0) {
    return std::string(header.is(frame_type::data) ? "data" : "window update") +
           " frame names stream 0, which is reserved for the session";
  }
  return std::nullopt;
}

frame_decoder::item frame_decoder::next(std::span<const std::uint8_t>& input) {
  item result;
  if (payload_remaining_ > 0) {
    if (input.empty())
      return result;
    const auto take = std::min<std::size_t>(payload_remaining_, input.size());
    result.what = item::kind::payload;
    result.payload = input.first(take);
    input = input.subspan(take);
    payload_remaining_ -= static_cast<std::uint32_t>(take);
    return result;
  }
  const auto take = std::min(header_size - partial_size_, input.size());
  std::copy_n(input.begin(), take, partial_.begin() + static_cast<std::ptrdiff_t>(partial_size_));
  partial_size_ += take;
  input = input.subspan(take);
  if (partial_size_ < header_size)
    return result;
  partial_size_ = 0;
  result.what = item::kind::header;
  result.header = decode(std::span<const std::uint8_t, header_size>(partial_));
  if (result.header.is(frame_type::data))
    payload_remaining_ = result.header.length;
  return result;
}

}  // namespace s2s::yamux
