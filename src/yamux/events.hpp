// What a yamux session tells its owner: one small struct per kind of event.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>

#include "yamux/frame.hpp"

namespace s2s::yamux {

// The peer opened a stream; it waits in the accept backlog for session::accept_stream().
struct stream_incoming {
  stream_id id;
};
// The peer acknowledged a stream we opened.
struct stream_established {
  stream_id id;
};
// Data arrived on a stream whose receive buffer was empty; read until it is empty again.
struct stream_readable {
  stream_id id;
};
// The stream's send window grew from zero: write() accepts bytes again.
struct stream_writable {
  stream_id id;
};
// The peer half-closed: once the buffered data is read, the stream is at its end.
struct stream_remote_closed {
  stream_id id;
};
// Both sides closed and everything received was read: the stream is gone.
struct stream_closed {
  stream_id id;
};
// The stream was aborted and is gone, buffered data included: by the peer's RST, or by
// us when the peer did not close a half-closed stream in time.
struct stream_reset {
  stream_id id;
  bool by_peer = true;
};
// The peer sent go-away. With code normal it opens no more streams and accepts none of ours;
// with any other code a session_ended follows.
struct go_away_received {
  go_away_code code;
};
struct ping_acknowledged {
  std::uint32_t ping_id;
  std::chrono::steady_clock::duration round_trip;
};
// A ping started by session::ping() got no reply within connection_write_timeout.
struct ping_timed_out {
  std::uint32_t ping_id;
};
// The session is over: flush pending_output() (it may hold a go-away) and close the transport.
struct session_ended {
  std::string reason;
};

using session_event =
    std::variant<stream_incoming, stream_established, stream_readable, stream_writable, stream_remote_closed,
                 stream_closed, stream_reset, go_away_received, ping_acknowledged, ping_timed_out, session_ended>;

}  // namespace s2s::yamux
