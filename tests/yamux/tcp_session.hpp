// Test helper: runs a yamux session core over a loopback TCP socket with poll(), one thread, bounded time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "yamux/session.hpp"

namespace s2s::yamux::testing {

// A listening socket on 127.0.0.1 with an ephemeral port.
struct loopback_listener {
  loopback_listener();
  ~loopback_listener();
  // The accepted connection, or -1 when nobody connected in time.
  int accept_one(std::chrono::milliseconds timeout);
  int fd = -1;
  std::uint16_t port = 0;
};

// A connection to "127.0.0.1:port" (what the peer printed), or -1.
int connect_loopback(const std::string& host_port);

class tcp_session {
 public:
  // Takes ownership of the connected socket.
  tcp_session(int fd, role side, const config& cfg);
  ~tcp_session();

  session& core() { return core_; }
  // Called for every event, with the core free to be driven from inside.
  std::function<void(const session_event&)> on_event;

  // Moves bytes, ticks and delivers events until `done` holds or the time runs out;
  // false on time-out. Stops early, returning done(), once the transport is closed.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout);
  // Flushes pending output for a moment, then closes the socket.
  void close_transport();
  bool transport_closed() const { return fd_ < 0 || peer_closed_; }

 private:
  void step(std::chrono::milliseconds poll_timeout);
  void deliver_events();

  int fd_;
  session core_;
  std::vector<std::uint8_t> buffer_;
  bool peer_closed_ = false;
};

}  // namespace s2s::yamux::testing
