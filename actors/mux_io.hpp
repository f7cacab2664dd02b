// The I/O thread of one mux session: it dials or takes an accepted TCP connection, runs the
// TLS handshake, then pumps bytes TLS socket <-> yamux session core <-> stream bridges with
// poll(), so no CAF scheduler thread ever blocks on a socket. It decides nothing about
// sessions or channels: it reports what happens through `mux_io_events`, and the mux-session
// actor that owns it asks for streams through its thread-safe commands.
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

#include "config/config.hpp"
#include "tls/context.hpp"
#include "yamux/config.hpp"
#include "yamux/session.hpp"

namespace s2s::actors {

// "127.0.0.1:7233" or "[::1]:7233": a socket address as logs and reports show it.
std::string address_text(const sockaddr_storage& address);

// What the I/O thread reports; every callback runs on that thread and must not block.
struct mux_io_events {
  // TLS is up and the peer has sent a valid yamux frame (we ping it at once, so any yamux peer
  // does); `peer` is the remote address.
  std::function<void(std::string peer)> up;
  // A stream the peer opened, bridged: `grpc_fd` is the end grpc++ should serve.
  std::function<void(std::uint32_t stream, int grpc_fd)> accepted;
  // A stream we asked for is open and bridged: `grpc_fd` is the end a grpc++ channel should use.
  std::function<void(std::uint32_t stream, int grpc_fd)> opened;
  // A stream we asked for could not be opened.
  std::function<void(std::string reason)> open_failed;
  // A stream ended: closed by both sides (`reset` false) or aborted.
  std::function<void(std::uint32_t stream, bool reset)> stream_ended;
  // The connection is over (or never came up: `was_up` false, `up` was never called); called
  // once, last.
  std::function<void(std::string reason, bool was_up)> down;
};

// Running totals of the sessions of one cluster connection, added to by their I/O threads and
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
  // Starts the thread at once; throws std::system_error when the system has no thread or fd
  // to give, and then `setup.accepted_fd` is the caller's to close.
  mux_io(mux_io_setup setup, mux_io_events events);
  // Stops the thread (the session ends, the socket closes) and waits for it.
  ~mux_io();
  mux_io(const mux_io&) = delete;
  mux_io& operator=(const mux_io&) = delete;

  // Asks for a new outbound stream; answered by `opened` or `open_failed`. Thread-safe.
  void open_stream();
  // Asks the thread to end the session (a go-away first, then the socket closes). Thread-safe.
  void stop();

  // Live streams and the bytes buffered in the core and bridges, as of the last loop; for stats.
  std::size_t streams() const { return streams_.load(); }

 private:
  class worker;
  void start_thread(mux_io_setup setup, mux_io_events events);
  void wake();

  int wake_fd_ = -1;
  std::mutex mutex_;  // guards the two requests below
  int open_requests_ = 0;
  bool stop_requested_ = false;
  std::atomic<std::size_t> streams_{0};
  std::thread thread_;
};

}  // namespace s2s::actors
