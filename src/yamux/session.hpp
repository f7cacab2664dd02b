// A yamux session without I/O: bytes and time go in, bytes and events come out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "yamux/config.hpp"
#include "yamux/events.hpp"
#include "yamux/frame.hpp"
#include "yamux/stream.hpp"

namespace s2s::yamux {

// The client opens odd stream ids, the server even ones.
enum class role { client, server };

// Drive it like this:
//   - bytes from the transport go to receive(); after it, poll_event() until it returns nothing;
//   - pending_output() is what to write to the transport; consume_output(n) once n bytes are written;
//   - tick(now) at least at next_deadline(): keepalive pings and every timeout happen there;
//   - the stream commands (open, accept, write, read, close, reset) may be called at any time.
// Output grows with what the peer asks for (ping replies, resets), so stop reading from the
// transport while pending_output() is large; the peer then waits on TCP, as it should.
// Nothing here blocks, sleeps, or reads a clock: every time comes in as an argument.
class session {
 public:
  // Throws std::invalid_argument when verify(cfg) reports a problem.
  session(role side, const config& cfg, clock::time_point now);

  // --- bytes in and out

  // Feeds bytes read from the transport. A protocol violation queues a go-away with
  // protocol error and ends the session; the rest of the input is then ignored.
  void receive(std::span<const std::uint8_t> bytes, clock::time_point now);
  std::span<const std::uint8_t> pending_output() const;
  void consume_output(std::size_t count);

  // --- events and time

  std::optional<session_event> poll_event();
  void tick(clock::time_point now);
  // When tick() must next run; nothing once the session has ended.
  std::optional<clock::time_point> next_deadline() const;

  // --- streams

  struct open_result {
    stream_id id = 0;   // 0 when the stream could not be opened
    std::string error;  // why not
    explicit operator bool() const { return id != 0; }
  };
  // Sends the SYN at once; data may be written before the peer acknowledges.
  open_result open_stream(clock::time_point now);
  // The oldest stream in the accept backlog, now acknowledged, or nothing.
  std::optional<stream_id> accept_stream();

  // Queues up to the stream's send window and returns how much it took (0 when the window
  // is exhausted, or the stream is gone or closed for writing). stream_writable tells when to retry.
  std::size_t write(stream_id id, std::span<const std::uint8_t> bytes);
  // The stream's received, unread data (empty for an unknown stream).
  std::span<const std::uint8_t> readable(stream_id id) const;
  // Marks `count` bytes read; grants the peer more window when enough was read.
  void consume(stream_id id, std::size_t count);
  // readable() copied into `out`, then consume(); returns the bytes copied.
  std::size_t read(stream_id id, std::span<std::uint8_t> out);
  // Half-close (FIN). False when the stream is unknown or already closed for writing.
  bool close(stream_id id, clock::time_point now);
  // Abort (RST); the stream and its buffered data are dropped. False when the stream is unknown.
  bool reset(stream_id id);

  // --- the session

  // Sends a ping; its reply comes back as ping_acknowledged with the same id.
  std::uint32_t ping(clock::time_point now);
  // Normal: the peer may open no new streams (we reset them); ours and existing ones go on.
  // Any other code also ends the session.
  void go_away(go_away_code code);
  // Ends the session without telling the peer, e.g. when the transport closed.
  void end(std::string reason);

  // --- queries

  role side() const { return side_; }
  bool ended() const { return ended_; }
  const std::string& end_reason() const { return end_reason_; }
  bool peer_went_away() const { return peer_went_away_; }
  bool went_away() const { return went_away_; }
  // Frame headers from the peer that passed the header checks: nonzero once the peer has
  // shown it speaks yamux.
  std::uint64_t frames_received() const { return frames_received_; }
  // The stream's state, windows and buffer, or nullptr when it is gone (or never was).
  const stream* find(stream_id id) const;
  std::size_t stream_count() const { return streams_.size(); }
  std::size_t backlog_size() const { return accept_queue_.size(); }

 private:
  struct outstanding_ping {
    clock::time_point sent;
    bool keepalive = false;
  };
  // What a data frame's header decided for the payload that follows it.
  struct payload_plan {
    stream_id target = 0;  // 0: discard
    bool remote_closed = false;
  };

  stream* find_mutable(stream_id id);
  bool is_ours(stream_id id) const;

  void on_header(const frame_header& header, clock::time_point now);
  void on_stream_frame(const frame_header& header);
  void on_payload(std::span<const std::uint8_t> bytes);
  void finish_frame(stream& s, bool remote_closed);
  void on_ping(const frame_header& header, clock::time_point now);
  void on_go_away(const frame_header& header);
  // Registers a stream the peer opens; nullptr when rejected (RST sent) or a violation (session failed).
  stream* on_incoming_syn(stream_id id);
  std::optional<std::string> track_peer_id(stream_id id);
  bool never_opened(stream_id id) const;

  void send(const frame_header& header, std::span<const std::uint8_t> payload = {});
  std::uint16_t open_flags(stream& s);
  void send_window_update(stream& s, std::uint16_t extra_flags, bool force);
  void remove(stream_id id);
  // Removes the stream once it is finished, telling the owner why.
  void settle(stream& s, bool by_peer);
  void fail(std::string reason);

  void check_write_progress(clock::time_point now);

  role side_;
  config cfg_;
  frame_decoder decoder_;
  payload_plan payload_;

  std::vector<std::uint8_t> output_;
  std::size_t output_head_ = 0;
  std::uint64_t output_taken_ = 0;  // bytes ever consumed, to notice a stalled transport
  std::uint64_t taken_at_stall_check_ = 0;
  std::optional<clock::time_point> stalled_since_;

  std::deque<session_event> events_;
  std::map<stream_id, stream> streams_;
  std::deque<stream_id> accept_queue_;
  std::uint32_t awaiting_ack_ = 0;  // our opens not yet acknowledged
  stream_id next_id_;
  stream_id peer_max_id_ = 0;
  // Peer ids below peer_max_id_ not opened yet: a peer may send the SYNs of concurrent
  // opens out of order. Bounded; the oldest are forgotten first.
  std::set<stream_id> peer_unopened_ids_;

  std::map<std::uint32_t, outstanding_ping> pings_;
  std::uint32_t next_ping_id_ = 0;
  clock::time_point next_keepalive_;

  bool peer_went_away_ = false;
  bool went_away_ = false;
  std::uint64_t frames_received_ = 0;
  bool ended_ = false;
  std::string end_reason_;
};

}  // namespace s2s::yamux
