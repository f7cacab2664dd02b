// The I/O of one mux session: a thread of its own dials or takes an accepted TCP connection and
// runs the TLS handshake; then the session is served on one of the data path's event loops: TLS
// socket <-> yamux session core <-> the HTTP/2 connection of each stream, all on that loop's
// thread, so no CAF scheduler thread ever blocks on a socket and no byte crosses another thread.
// It decides nothing about sessions or channels: it reports what happens through
// `mux_io_events`, and the mux-session actor that owns it asks for streams through its
// thread-safe commands.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/h2/connection.hpp"
#include "config/config.hpp"
#include "tls/context.hpp"
#include "yamux/config.hpp"
#include "yamux/session.hpp"

namespace s2s::actors {

// What the session reports; every callback runs on the setup thread or the session's loop and
// must not block.
struct mux_io_events {
  // TLS is up and the peer has sent a valid yamux frame (we ping it at once, so any yamux peer
  // does); `peer` is the remote address.
  std::function<void(std::string peer)> up;
  // A stream the peer opened: its transport, for an HTTP/2 server connection on the session's loop.
  std::function<void(std::uint32_t stream, std::shared_ptr<transport_handover> stream_transport)> accepted;
  // A stream we asked for is open: its transport, for an HTTP/2 client connection.
  std::function<void(std::uint32_t stream, std::shared_ptr<transport_handover> stream_transport)> opened;
  // A stream we asked for could not be opened.
  std::function<void(std::string reason)> open_failed;
  // A stream ended: closed by both sides (`reset` false) or aborted.
  std::function<void(std::uint32_t stream, bool reset)> stream_ended;
  // The connection is over (or never came up: `was_up` false, `up` was never called); called
  // once, last.
  std::function<void(std::string reason, bool was_up)> down;
};

// Running totals of the sessions of one cluster connection, added to by their loops and
// read from any thread (metrics). Bytes are yamux bytes, frame headers included, before TLS.
struct mux_traffic {
  std::atomic<std::uint64_t> bytes_sent{0};
  std::atomic<std::uint64_t> bytes_received{0};
  std::atomic<std::uint64_t> pings_answered{0};          // keepalive pings that got their reply
  std::atomic<std::uint64_t> round_trip_nanoseconds{0};  // summed over those pings
  std::atomic<std::uint64_t> last_round_trip_nanoseconds{0};
};

struct mux_io_setup {
  std::string name;  // for logs, e.g. "a-to-b mux session 2"
  // Exactly one of: dial this address (mux-client) or use this accepted socket (mux-server).
  std::optional<config::address> dial;
  int accepted_fd = -1;
  config::tls_config tls;
  tls::context_ptr tls_context;  // null: plain TCP
  yamux::config yamux;
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds handshake_timeout{10000};
  std::shared_ptr<mux_traffic> traffic;  // may be null
};

class mux_io {
 public:
  // Starts the setup thread at once; throws std::system_error when the system has no thread or
  // fd to give, and then `setup.accepted_fd` is the caller's to close.
  mux_io(mux_io_setup setup, mux_io_events events);
  // Asks the session to end (a go-away first, then the socket closes on its loop) and waits for
  // the setup thread; `down` follows from the loop.
  ~mux_io();
  mux_io(const mux_io&) = delete;
  mux_io& operator=(const mux_io&) = delete;

  // Asks for a new outbound stream; answered by `opened` or `open_failed`. Thread-safe.
  void open_stream();
  // Asks the thread to end the session (a go-away first, then the socket closes). Thread-safe.
  void stop();

  // Live streams, as of the loop's last turn; for stats.
  std::size_t streams() const;

 private:
  struct control;
  class worker;

  std::shared_ptr<control> control_;  // shared with the worker, which may outlive this
  std::thread thread_;                // connect and handshake
};

}  // namespace s2s::actors
