// An HTTP/2 connection without I/O, on libnghttp2: bytes go in, bytes and events come out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http2/events.hpp"
#include "http2/send_queue.hpp"

struct nghttp2_session;

namespace s2s::http2 {

// The client opens odd stream ids and sends requests; the server answers them.
enum class role { client, server };

// What we advertise to the peer. Windows are what the peer may send before we consume().
struct settings {
  std::uint32_t max_concurrent_streams = 1000;     // streams the peer may open at once
  std::uint32_t stream_window = 1 << 20;           // receive window of each stream
  std::uint32_t connection_window = 16 << 20;      // receive window of the whole connection
  std::uint32_t max_frame_size = 16 * 1024;        // largest frame payload we accept
  std::uint32_t max_header_list_size = 64 * 1024;  // a longer header block resets its stream
};

// Drive it like this (docs/http2.md has the whole contract):
//   - bytes from the transport go to receive(); they must stay valid until the next receive();
//   - pending_output() is what to write to the transport; consume_output(n) once n bytes are written;
//   - after each of those, poll_event() until it returns nothing (after receive(), before the
//     next one: received DATA comes out as views of its input);
//   - the commands may be called at any time; their frames appear in pending_output().
// An owner that holds received DATA copies it; the peer gets that credit back only through
// consume(), so an owner that holds bytes slows the peer down (back-pressure).
// Nothing here blocks, reads a clock or touches a socket.
class connection {
 public:
  // Queues our SETTINGS (and, for the client, the connection preface) at once.
  explicit connection(role side, const settings& cfg = {});
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // --- bytes in and out

  // Feeds bytes read from the transport. A protocol violation queues GOAWAY and a
  // connection_error event; input after it is ignored.
  void receive(std::span<const std::uint8_t> bytes);
  // Frames up to an output high-water mark; more appear as the caller consumes these.
  std::span<const std::uint8_t> pending_output();
  void consume_output(std::size_t count);

  std::optional<event> poll_event();

  // --- streams

  struct open_result {
    stream_id id = 0;   // 0 when the stream could not be opened
    std::string error;  // why not
    explicit operator bool() const { return id != 0; }
  };
  // Client: sends a request's headers. With end_stream, no data or trailers may follow.
  open_result open_stream(const header_list& headers, bool end_stream);
  // Server: sends the response headers of a request stream. With end_stream it is a
  // headers-only (for gRPC, trailers-only) response.
  bool respond(stream_id id, const header_list& headers, bool end_stream);
  // Copies `bytes` into the stream's send queue; they leave as the peer's windows allow.
  // False when the stream is gone or already ended for sending.
  bool send_data(stream_id id, std::span<const std::uint8_t> bytes, bool end_stream = false);
  // The same, taking the buffer over: no copy, also behind data still queued on the stream.
  bool send_buffer(stream_id id, std::vector<std::uint8_t>&& bytes, bool end_stream = false);
  // The same, borrowing the bytes: `keeper` keeps them valid until they are framed.
  bool send_borrowed(stream_id id, std::span<const std::uint8_t> bytes, std::shared_ptr<const void> keeper,
                     bool end_stream = false);
  // Ends the stream with a trailing header block, after the data queued before it.
  bool send_trailers(stream_id id, const header_list& trailers);
  // RST_STREAM; the stream ends with a stream_reset event (by_peer false).
  bool reset(stream_id id, std::uint32_t code);
  // Gives back the peer's credit for `count` bytes of data_received on this stream. Counts
  // beyond what was delivered are ignored; it works after the stream has gone, too.
  void consume(stream_id id, std::size_t count);

  // --- the connection

  // Its acknowledgement arrives as ping_acknowledged with the returned payload.
  std::uint64_t ping();
  // Graceful shutdown. Server: GOAWAY with the largest stream id (the peer opens no more),
  // then a PING; when its ACK arrives every stream the peer started before it is known, and the
  // final GOAWAY names the real last stream id. Client: one GOAWAY. Streams already open finish.
  // Does nothing once shutdown() or go_away() has been called.
  void shutdown();
  // GOAWAY now, with the last stream id we processed. A code other than no_error ends the connection.
  void go_away(std::uint32_t code, std::string_view debug_data = {});

  // --- queries

  role side() const { return side_; }
  // A connection error happened or go_away() ended the connection: flush and close.
  bool ended() const { return ended_; }
  // Nothing more to read or write: the transport may be closed.
  bool finished();
  std::size_t stream_count() const { return streams_.size(); }
  // Bytes given to send_data() on this stream that are not framed yet.
  std::size_t queued(stream_id id) const;
  // How much data the peer lets us send on this stream now (stream and connection windows).
  std::int64_t send_window(stream_id id) const;
  // Bytes delivered in data_received events and not yet consumed, over all streams.
  std::size_t unconsumed() const { return unconsumed_total_; }

 private:
  struct stream_state {
    send_queue outbox;     // queued by send_data() and send_buffer(), not yet framed
    bool sending = false;  // a data source is attached: data or trailers may still go out
    bool end_queued = false;
    std::optional<header_list> trailers;
    bool deferred = false;  // the data source said "nothing now"; resume when more is queued
    header_list incoming;   // the header block being received
    std::size_t incoming_bytes = 0;
    bool reset_by_peer = false;
    bool announced = false;       // the owner knows the stream: we opened it, or its request came out
    bool responded = false;       // server: response headers submitted
    bool headers_framed = false;  // our first HEADERS on it have been framed
    std::optional<std::uint32_t> reset_after_headers;  // client: reset() before the request went out
  };
  friend struct callbacks;

  stream_state* find(stream_id id);
  bool attach_source(stream_id id, stream_state& s, const header_list& headers, bool end_stream);
  void resume(stream_id id, stream_state& s);
  // The stream, while it may still queue data or trailers; else null.
  stream_state* data_stream(stream_id id);
  // Queues data on such a stream with `append(outbox)`, ending it for sending when `end_stream`.
  template <class Append>
  bool queue_data(stream_id id, bool end_stream, Append append);
  void pull_output(bool until_go_away);
  void submit_go_away(std::uint32_t code, std::string_view debug_data);
  void frame_go_away();
  void submit_deferred_go_away();
  void push(event e);
  void fail_fatally(std::string reason);

  role side_;
  settings cfg_;
  nghttp2_session* session_ = nullptr;
  std::map<stream_id, stream_state> streams_;
  // Delivered and not yet consumed, per stream; outlives the stream until consumed.
  std::map<stream_id, std::size_t> unconsumed_;
  std::size_t unconsumed_total_ = 0;
  std::deque<event> events_;
  std::vector<std::uint8_t> output_;
  std::size_t output_head_ = 0;
  std::uint64_t next_ping_ = 1;
  std::optional<std::uint64_t> shutdown_ping_;
  bool go_away_commanded_ = false;
  std::optional<stream_id> last_go_away_id_;  // the last stream id of the GOAWAY we sent last
  bool go_away_unsent_ = false;               // submitted to nghttp2, not framed yet
  bool deferred_go_away_ = false;             // client: a graceful GOAWAY waits for our queued requests
  bool going_away_ = false;                   // shutdown() or go_away() was called: no new streams
  bool input_dropped_ = false;                // nghttp2 had stopped reading when input came
  std::string last_error_;                    // nghttp2's most recent explanation, for connection_error reasons
  bool fatal_ = false;                        // nghttp2 refused the input; the session must not be used again
  bool ended_ = false;
};

}  // namespace s2s::http2
