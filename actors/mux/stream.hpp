// The stream role: one yamux stream as the byte transport of an HTTP/2 connection. The connection
// runs on its session's loop thread: the session hands it what arrives on the stream, and what it
// writes goes straight into the stream's send window. No socket and no other thread in between.
#pragma once

#include <functional>
#include <memory>

#include "actors/h2/connection.hpp"
#include "yamux/session.hpp"

namespace s2s::actors {

// What a session and the transport of one of its streams share. Loop thread only.
struct mux_stream_state {
  yamux::stream_id id = 0;
  yamux::session* session = nullptr;        // null once the stream or the session is over
  std::function<void()> output_queued;      // the session has frames to send
  std::weak_ptr<h2_connection> connection;  // once a connection runs on the stream
  bool remote_closed = false;               // the peer's FIN arrived
};

// The stream's transport for an HTTP/2 connection on `loop` (the session's). Reads take the
// stream's received bytes in place and give yamux window back as the HTTP/2 core takes them;
// writes take what the stream's send window allows. Destroyed (the connection is over, or the
// stream was never used), it half-closes the stream after what was written.
std::unique_ptr<byte_transport> mux_stream_transport(net::event_loop& loop, std::shared_ptr<mux_stream_state> state);

}  // namespace s2s::actors
