// An EchoService server on loopback that answers as each request instructs and records what it saw.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "rpc/limits.hpp"

namespace grpc {
class Server;
}

namespace s2s::testing {

// Tests send payloads of exactly the proxy's limit; the protobuf framing around them needs room.
inline constexpr int test_max_message_bytes = rpc::max_message_bytes + 4 * 1024 * 1024;

// The payload the server generates when a request sets response_bytes: byte i is i % 251,
// a period no power of two divides, so a shifted or truncated copy does not compare equal.
std::string pattern_payload(std::size_t size);

struct server_tls_files {
  std::filesystem::path certificate_chain;
  std::filesystem::path private_key;
  // Empty: clients present no certificate. Set: every client must present one signed by it.
  std::filesystem::path client_ca;
};

struct echo_server_options {
  std::optional<server_tls_files> tls;
  std::string host = "127.0.0.1";
  int port = 0;  // 0: the kernel picks a free port, reported by echo_server::port()
  // How long shutdown waits for calls still running before it cancels them.
  std::chrono::milliseconds shutdown_grace{1000};
  // Ages connections as Temporal's frontend does: GOAWAY after this long, closed after the grace.
  std::optional<std::chrono::milliseconds> max_connection_age;
  std::chrono::milliseconds max_connection_age_grace{30000};
};

// What the server has seen, shared by every call it runs.
class call_log {
 public:
  // `peer` is the caller's address as grpc names it ("ipv4:127.0.0.1:40112"): one per connection.
  void call_started(std::optional<std::chrono::system_clock::time_point> deadline, std::string peer = {});
  void call_cancelled_by_client();
  void call_done();

  std::size_t started() const;
  std::size_t in_flight() const;
  // Calls that ended before the server answered because the client cancelled them or their
  // deadline passed. Cancellations the server asked for itself (server_cancel) do not count.
  std::size_t cancelled() const;
  // The deadline of the most recent call; empty when that call had none.
  std::optional<std::chrono::system_clock::time_point> last_deadline() const;
  // The peer of every call so far, in the order the calls started.
  std::vector<std::string> peers() const;

  // Each returns false if the condition did not hold within the timeout.
  bool wait_for_started(std::size_t count, std::chrono::milliseconds timeout) const;
  bool wait_for_in_flight(std::size_t count, std::chrono::milliseconds timeout) const;
  bool wait_for_cancelled(std::size_t count, std::chrono::milliseconds timeout) const;
  bool wait_for_idle(std::chrono::milliseconds timeout) const;

 private:
  bool wait_until(std::chrono::milliseconds timeout, const std::function<bool()>& condition) const;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::size_t started_ = 0;
  std::size_t in_flight_ = 0;
  std::size_t cancelled_ = 0;
  std::optional<std::chrono::system_clock::time_point> last_deadline_;
  std::vector<std::string> peers_;
};

class echo_service;
class timer_queue;

// Listens from construction until destruction; the constructor throws std::runtime_error when
// the server cannot start (port taken, unreadable certificate files).
class echo_server {
 public:
  explicit echo_server(echo_server_options options = {});
  ~echo_server();
  echo_server(const echo_server&) = delete;
  echo_server& operator=(const echo_server&) = delete;

  int port() const { return port_; }
  std::string address() const;  // host:port, ready for a channel target
  const call_log& calls() const { return log_; }

 private:
  echo_server_options options_;
  call_log log_;
  std::unique_ptr<timer_queue> timers_;
  std::unique_ptr<echo_service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace s2s::testing
