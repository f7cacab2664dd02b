// What an HTTP/2 connection tells its owner: one small struct per kind of event.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace s2s::http2 {

using stream_id = std::int32_t;

struct header {
  std::string name;
  std::string value;
  bool operator==(const header&) const = default;
};
using header_list = std::vector<header>;

// The error codes of RFC 9113 §7 that the owner chooses between; any other value may arrive.
namespace error_code {
inline constexpr std::uint32_t no_error = 0x0;
inline constexpr std::uint32_t protocol_error = 0x1;
inline constexpr std::uint32_t internal_error = 0x2;
inline constexpr std::uint32_t flow_control_error = 0x3;
inline constexpr std::uint32_t settings_timeout = 0x4;
inline constexpr std::uint32_t stream_closed = 0x5;
inline constexpr std::uint32_t frame_size_error = 0x6;
inline constexpr std::uint32_t refused_stream = 0x7;
inline constexpr std::uint32_t cancel = 0x8;
inline constexpr std::uint32_t compression_error = 0x9;
inline constexpr std::uint32_t connect_error = 0xa;
inline constexpr std::uint32_t enhance_your_calm = 0xb;
inline constexpr std::uint32_t inadequate_security = 0xc;
inline constexpr std::uint32_t http_1_1_required = 0xd;
}  // namespace error_code

// Which header block of a stream this is.
enum class header_kind {
  request,        // the server got a new stream
  response,       // the client got the final response headers
  informational,  // a 1xx response before the final one
  trailers,       // the last block, after data; always with end_stream
};

struct headers_received {
  stream_id id;
  header_kind kind;
  header_list headers;
  bool end_stream;  // the peer sends nothing more on this stream
};
// DATA payload, padding removed. The bytes are a view of the input given to receive() (or of the
// core's own buffer), valid until the next call of receive(): an owner that keeps them copies
// them. Every byte must come back through connection::consume() (whatever becomes of the
// stream): until then the peer's window stays that much smaller.
struct data_received {
  stream_id id;
  std::span<const std::uint8_t> bytes;
  bool end_stream;
};
// Every byte given to send_data() on this stream has been framed: queue more.
struct stream_writable {
  stream_id id;
};
// Both directions ended normally; the stream is gone.
struct stream_closed {
  stream_id id;
};
// The stream was aborted and is gone: by the peer's RST_STREAM, by ours, or by the connection
// (refused_stream for our streams above a GOAWAY's last stream id).
struct stream_reset {
  stream_id id;
  std::uint32_t code;
  bool by_peer;
};
// The peer will process no stream above last_stream_id; streams at or below it go on.
struct go_away_received {
  stream_id last_stream_id;
  std::uint32_t code;
  std::string debug_data;
};
struct ping_acknowledged {
  std::uint64_t payload;
};
// The connection is unusable: the peer broke the protocol (we sent GOAWAY with `code` and
// `reason` as its debug data) or the bytes were not HTTP/2 at all. Flush pending_output()
// and close the transport.
struct connection_error {
  std::uint32_t code;
  std::string reason;
};

using event = std::variant<headers_received, data_received, stream_writable, stream_closed, stream_reset,
                           go_away_received, ping_acknowledged, connection_error>;

}  // namespace s2s::http2
