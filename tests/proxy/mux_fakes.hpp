// Test doubles for mux faults: a TCP relay the test can cut, a TLS peer that writes crafted
// yamux frames and records what comes back, and a capture of the proxy's log lines.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"

namespace s2s::testing {

// A listening loopback socket and the thread that serves it; stop() (or the destructor) wakes
// the thread, waits for it and closes the socket.
class loopback_worker {
 public:
  loopback_worker();
  ~loopback_worker();
  loopback_worker(const loopback_worker&) = delete;
  loopback_worker& operator=(const loopback_worker&) = delete;

  void start(std::function<void()> body);
  void stop();
  bool stopping() const { return stopping_.load(); }
  // Wakes a thread waiting in poll() on wake_fd(); the thread calls drained() after.
  void wake();
  void drained();
  int port() const { return port_; }
  int listen_fd() const { return listen_fd_; }
  int wake_fd() const { return wake_fd_; }

 private:
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// Relays every connection made to its loopback port to `target_port`, byte for byte, until
// cut() drops them all (with a reset). It keeps accepting new connections after a cut.
class tcp_relay {
 public:
  explicit tcp_relay(int target_port);
  ~tcp_relay();
  tcp_relay(const tcp_relay&) = delete;
  tcp_relay& operator=(const tcp_relay&) = delete;

  int port() const { return worker_.port(); }
  // Drops every connection relayed so far; returns once they are closed.
  void cut();
  std::size_t connections_accepted() const;

 private:
  void run();

  int target_port_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t cuts_requested_ = 0;
  std::uint64_t cuts_done_ = 0;
  std::size_t accepted_ = 0;
  loopback_worker worker_;  // last: its thread stops before the members it uses go
};

// One yamux frame header as read off the wire.
struct frame_seen {
  std::uint8_t version = 0;
  std::uint8_t type = 0;
  std::uint16_t flags = 0;
  std::uint32_t stream = 0;
  std::uint32_t length = 0;
};

// A 12-byte yamux header, written out by hand so the test does not trust the codec it tests.
std::vector<std::uint8_t> frame_bytes(std::uint8_t version, std::uint8_t type, std::uint16_t flags,
                                      std::uint32_t stream, std::uint32_t length);

// A mux-server stand-in: accepts TLS connections on loopback (certificate and key from `tls`,
// no client certificate asked for), writes `script` once the handshake is done, then reads
// the client's frames until it closes (bounded), recording their headers per connection.
class fake_mux_server {
 public:
  fake_mux_server(const config::tls_config& tls, std::vector<std::uint8_t> script);
  ~fake_mux_server();
  fake_mux_server(const fake_mux_server&) = delete;
  fake_mux_server& operator=(const fake_mux_server&) = delete;

  int port() const { return worker_.port(); }
  // Connections whose TLS handshake completed.
  std::size_t sessions() const;
  // The headers the client sent on connection `index` (0 = first), as far as read.
  std::vector<frame_seen> frames(std::size_t index) const;
  // Waits (bounded) until `done` holds for the recorded connections.
  bool wait_until(const std::function<bool(const fake_mux_server&)>& done, std::chrono::milliseconds timeout) const;

 private:
  void run();
  void serve(int fd);

  std::vector<std::uint8_t> script_;
  void* context_ = nullptr;  // SSL_CTX, kept out of this header
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<std::vector<frame_seen>> connections_;
  loopback_worker worker_;  // last: its thread stops before the members it uses go
};

// Collects the process's log lines while it lives (and still writes them to stderr).
class log_capture {
 public:
  log_capture();
  ~log_capture();
  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;

  // The first line containing every one of `parts`, waiting (bounded) for it; empty if none.
  std::string wait_for(const std::vector<std::string>& parts, std::chrono::milliseconds timeout);
  std::vector<std::string> lines() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable added_;
  std::vector<std::string> lines_;
};

// A socket connected to 127.0.0.1:`port`, or -1.
int connect_to_loopback(int port);

// Polls `done` every 20 ms until it holds or `timeout` passes; returns its last value.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout);

}  // namespace s2s::testing
