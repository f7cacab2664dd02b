// The HTTP/2 halves of a proxied call: each is one stream of an h2_connection and turns its events
// into call-actor messages.
//
// A half lives on its connection's loop thread. What the call actor asks of it (from whatever
// thread the actor runs on) is posted to that loop and runs after the loop's current handler, so
// a half is never re-entered; when the actor runs on the loop thread itself (see
// runtime/inline_run.hpp) nothing crosses threads at all.
//
// Back-pressure: a half delivers a message only against a read grant. Received DATA is credited
// back to the peer (connection::consume) at once while nothing waits for a grant, and held back
// while something does, so a slow other side closes the peer's HTTP/2 window after one message.
// A write gives the other half its grant back at once while the stream's unframed bytes stay
// under the byte budget, else when they have been framed.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "actors/call/ports.hpp"
#include "actors/h2/connection.hpp"
#include "http2/grpc_headers.hpp"
#include "http2/grpc_message.hpp"

namespace s2s::actors {

// Unframed bytes a stream may hold before its writes stop returning grants at once.
inline constexpr std::size_t h2_write_budget = 8 * 1024 * 1024;

// grpc::ByteBuffer <-> bytes, and grpc::Status <-> gRPC headers.
std::vector<std::uint8_t> bytes_of(const grpc::ByteBuffer& message);
grpc::ByteBuffer buffer_of(std::vector<std::uint8_t> bytes);
http2::header_list header_list_of(metadata_list metadata);  // an rvalue moves the strings
// Forwardable metadata of a header block (no pseudo-headers, no transport-owned entries).
metadata_list metadata_of(http2::header_list headers);  // an rvalue moves the strings
grpc::Status status_of_trailers(const http2::header_list& trailers);
http2::header_list trailers_of(const grpc::Status& status, const metadata_list& metadata, bool only);

// A message ready for a stream's send queue: framed into one buffer when small, or its gRPC prefix
// followed by the message's own slices, borrowed rather than copied, when large.
class outgoing_message {
 public:
  explicit outgoing_message(const grpc::ByteBuffer& message);
  // Queues it on stream `id`; false when the stream takes no more data.
  bool queue_on(http2::connection& core, http2::stream_id id);

 private:
  std::vector<std::uint8_t> framed_;                  // prefix and payload, or the prefix alone
  std::shared_ptr<std::vector<grpc::Slice>> slices_;  // the payload, when borrowed
};

// What both halves share, on their connection's loop thread: the read grants and the DATA credit
// held back for them, the grants their writes owe the other half, and the call actor they tell.
template <class Half>
class h2_half_pacing {
 protected:
  h2_half_pacing(std::shared_ptr<h2_connection> connection, call_actor owner, std::size_t max_message_bytes)
      : connection_(std::move(connection)), owner_(std::move(owner)), reader_(max_message_bytes) {}

  // read_gate, from any thread: more messages may be delivered.
  void post_grants(std::size_t count);
  void post_peer(std::weak_ptr<read_gate> peer);
  // The message framed for a write (from any thread), telling the allocator of a large one.
  static outgoing_message frame(const grpc::ByteBuffer& message, bool& large);
  // After a message was queued on the stream: the other half gets its grant back at once while
  // the stream's unframed bytes are under the budget, else once they have been framed.
  void queued_message(bool large);
  // Everything queued has been framed: owed grants go back, and the allocator hears of a large
  // message whose memory is about to be freed.
  void framed_all();
  // Gives the peer its DATA credit back once nothing waits for a grant (or when `now`).
  void credit_back(bool now);
  template <class Message>
  void tell(Message message);

  std::shared_ptr<h2_connection> connection_;
  call_actor owner_;
  http2::stream_id id_ = 0;
  http2::message_reader reader_;
  std::size_t grants_ = 0;
  std::size_t held_credit_ = 0;
  std::size_t owed_grants_ = 0;
  std::weak_ptr<read_gate> peer_;
  bool large_pending_ = false;  // a large message was queued: tell the allocator once it is out

 private:
  Half& half() { return static_cast<Half&>(*this); }
};

// The caller's side: a request stream of a server connection.
class h2_server_half final : public downstream_port,
                             public h2_stream,
                             public h2_half_pacing<h2_server_half>,
                             public std::enable_shared_from_this<h2_server_half> {
 public:
  // From the request's headers; the half is attached to its stream by the caller.
  h2_server_half(std::shared_ptr<h2_connection> connection, http2::stream_id id, call_info info,
                 std::size_t max_message_bytes);

  const call_info& info() const override { return info_; }
  void bind(call_actor owner) override;
  void grant_reads(std::size_t count) override;
  void return_grants_to(std::weak_ptr<read_gate> peer) override;
  void write(grpc::ByteBuffer message) override;
  void send_metadata(metadata_list headers) override;
  void finish(const grpc::Status& status, const metadata_list& trailers) override;
  void go_away_gracefully() override;

  // Loop thread: the request's first headers ended the stream, or the deadline must be armed.
  void start(bool request_ended);
  // Answers the call without an actor (refusals before a call starts).
  void answer(const grpc::Status& status);

  void on_headers(http2::headers_received& headers) override;
  void on_data(http2::data_received& data) override;
  void on_writable() override;
  void on_closed() override;
  void on_reset(std::uint32_t code, bool by_peer) override;
  void on_connection_lost(const std::string& reason) override;

 private:
  friend class h2_half_pacing<h2_server_half>;
  void deliver();
  void send_headers_if_needed();
  void do_finish(const grpc::Status& status, const metadata_list& trailers);
  void gone();

  call_info info_;
  bool request_ended_ = false;
  bool read_end_told_ = false;
  bool headers_sent_ = false;
  bool finished_ = false;
  bool stream_gone_ = false;
  bool told_gone_ = false;
  std::optional<metadata_list> pending_metadata_;
  std::optional<net::event_loop::timer_id> deadline_timer_;
};

// The upstream side: a stream this proxy opens on a client connection.
class h2_client_half final : public upstream_port,
                             public h2_stream,
                             public h2_half_pacing<h2_client_half>,
                             public std::enable_shared_from_this<h2_client_half> {
 public:
  h2_client_half(std::shared_ptr<h2_connection> connection, std::string authority, call_info info, call_actor owner,
                 std::size_t max_message_bytes);
  // Loop thread: opens the stream (or fails the call when the connection cannot take it).
  void start();

  void grant_reads(std::size_t count) override;
  void return_grants_to(std::weak_ptr<read_gate> peer) override;
  void write(grpc::ByteBuffer message) override;
  void writes_done() override;
  void cancel() override;
  void release() override;

  void on_headers(http2::headers_received& headers) override;
  void on_data(http2::data_received& data) override;
  void on_writable() override;
  void on_closed() override;
  void on_reset(std::uint32_t code, bool by_peer) override;
  void on_connection_lost(const std::string& reason) override;
  void on_go_away() override;

 private:
  friend class h2_half_pacing<h2_client_half>;
  void deliver();
  void settle(grpc::Status status, metadata_list trailers = {});

  std::string authority_;
  call_info info_;
  bool metadata_in_ = false;  // response headers arrived: reads may be delivered
  bool write_failed_told_ = false;
  bool writes_closed_ = false;
  bool read_end_told_ = false;
  bool release_asked_ = false;
  bool done_told_ = false;
  bool going_away_told_ = false;
  bool stream_gone_ = false;
  std::optional<grpc::Status> status_;  // the call's end, once known
  metadata_list trailers_;
};

}  // namespace s2s::actors
