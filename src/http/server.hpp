// A small HTTP/1.1 server for operators' endpoints: one thread, poll, GET only, bounded requests.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <variant>

#include "config/config.hpp"

namespace s2s::http {

struct response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Answers GET (and HEAD) requests for a path (the query string removed). Runs on the server's
// thread, one request at a time, so it may block briefly but not for long.
using handler = std::function<response(std::string_view path)>;

// Bounds that keep a misbehaving client from holding the server.
inline constexpr std::size_t max_request_bytes = 8192;
inline constexpr std::size_t max_clients = 32;
inline constexpr int client_timeout_ms = 10000;

class server {
 public:
  // Binds `address` (port 0: any free port) and serves until destroyed. The string says why
  // the address cannot be served. `name` appears in log lines ("health a-to-b local"),
  // `thread_name` on the server's thread (at most 15 characters, as docs/threads.md lists).
  static std::variant<std::unique_ptr<server>, std::string> start(const config::address& address, handler handle,
                                                                  std::string name, std::string thread_name);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  int port() const { return port_; }

 private:
  server(int listen_fd, int port, handler handle, std::string name, const std::string& thread_name);
  void run();

  int listen_fd_;
  int port_;
  int wake_read_ = -1;
  int wake_write_ = -1;
  handler handle_;
  std::string name_;
  std::thread thread_;
};

}  // namespace s2s::http
