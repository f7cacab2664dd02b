// The yamux frame: the 12-byte header, its types, flags and go-away codes, and an incremental decoder.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace s2s::yamux {

using stream_id = std::uint32_t;

inline constexpr std::uint8_t protocol_version = 0;
inline constexpr std::size_t header_size = 12;
// Every stream starts with this receive window on both sides; larger windows are granted by updates.
inline constexpr std::uint32_t initial_stream_window = 256 * 1024;

enum class frame_type : std::uint8_t {
  data = 0,           // length bytes of payload follow the header
  window_update = 1,  // length is a delta added to the sender's send window
  ping = 2,           // length is an opaque value echoed back; stream id 0
  go_away = 3,        // length is a go_away_code; stream id 0
};
inline constexpr std::uint8_t last_frame_type = 3;

namespace flags {
inline constexpr std::uint16_t syn = 0x1;  // opens a stream, or marks a ping request
inline constexpr std::uint16_t ack = 0x2;  // accepts a stream, or marks a ping reply
inline constexpr std::uint16_t fin = 0x4;  // half-close: the sender sends no more data
inline constexpr std::uint16_t rst = 0x8;  // abort the stream at once
}  // namespace flags

enum class go_away_code : std::uint32_t {
  normal = 0,
  protocol_error = 1,
  internal_error = 2,
};

// "normal", "protocol error", "internal error", or "unknown code N".
std::string describe(go_away_code code);

// The header as decoded: type is kept raw so an unknown type can be reported, not lost.
struct frame_header {
  std::uint8_t version = protocol_version;
  std::uint8_t type = 0;
  std::uint16_t flags = 0;
  stream_id stream = 0;
  std::uint32_t length = 0;

  bool has(std::uint16_t flag) const { return (flags & flag) == flag; }
  bool is(frame_type t) const { return type == static_cast<std::uint8_t>(t); }
  friend bool operator==(const frame_header&, const frame_header&) = default;
};

frame_header make_header(frame_type type, std::uint16_t flags, stream_id stream, std::uint32_t length);

// Big-endian on the wire: version, type, flags (2), stream id (4), length (4).
std::array<std::uint8_t, header_size> encode(const frame_header& header);
frame_header decode(std::span<const std::uint8_t, header_size> bytes);

// Appends the header, then the payload (which only data frames carry).
void append_frame(std::vector<std::uint8_t>& out, const frame_header& header,
                  std::span<const std::uint8_t> payload = {});

// The checks that need no session state: the version, the type, and which frames must
// (or must not) name stream 0. Returns why the header is invalid, or nothing.
std::optional<std::string> check_header(const frame_header& header);

// Splits a byte stream into headers and data payload pieces, without copying payloads
// and without waiting for a whole payload to arrive.
class frame_decoder {
 public:
  struct item {
    enum class kind { need_more, header, payload } what = kind::need_more;
    frame_header header;                    // when what == header
    std::span<const std::uint8_t> payload;  // when what == payload: a piece of the current data frame
  };

  // Takes what it uses from the front of `input`. After a data header, the payload follows
  // as one or more payload items; other frame types have none.
  item next(std::span<const std::uint8_t>& input);

  // Bytes of the current data frame's payload still to come.
  std::uint32_t payload_remaining() const { return payload_remaining_; }

 private:
  std::array<std::uint8_t, header_size> partial_{};
  std::size_t partial_size_ = 0;
  std::uint32_t payload_remaining_ = 0;
};

}  // namespace s2s::yamux
