// TCP sockets: resolve, listen, accept and dial; every fd they give is non-blocking.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <variant>

#include "config/config.hpp"

namespace s2s::net {

// Owns a file descriptor; closes it when destroyed.
class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& other) noexcept;
  ~unique_fd();
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;

  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

struct listening_socket {
  unique_fd fd;
  int port = 0;  // the bound port (useful when the address asked for port 0)
};

// Binds the first address `address` resolves to that can be bound, and listens. Not shared with
// other processes (no SO_REUSEPORT). The string says why not, e.g. "Address already in use".
std::variant<listening_socket, std::string> listen_tcp(const config::address& address, int backlog = 1024);

// A connection accepted on a listening socket, non-blocking with TCP_NODELAY, or an empty fd
// when none is waiting (or the accept failed; `error` then holds errno).
unique_fd accept_connection(int listening_fd, int* error = nullptr);

// Starts a non-blocking connect to host:port (the first address it resolves to). The fd becomes
// writable when the connect has finished; connect_result() tells how it went.
std::variant<unique_fd, std::string> start_dial(const std::string& host, std::uint16_t port);
// Empty once a started dial has connected, else why not ("Connection refused").
std::string connect_result(int fd);

// Connects to `address`, trying each address it resolves to in turn until one connects. While a
// connect is under way it calls `wait(fd, problem)`, which blocks until the fd is writable (true)
// or gives up and says why (a deadline passed, a stop was asked for): then no other address is
// tried. For a thread that may block, not for an event loop. The fd is non-blocking.
using connect_wait = std::function<bool(int fd, std::string& problem)>;
std::variant<unique_fd, std::string> dial(const config::address& address, const connect_wait& wait);

// Makes `fd` non-blocking and close-on-exec, with TCP_NODELAY when it is a TCP socket.
void prepare_stream_fd(int fd);

// "127.0.0.1:7233" or "[::1]:7233": a socket address as logs and reports show it.
std::string address_text(const sockaddr_storage& address);

// The peer's address as "host:port", or "unknown".
std::string peer_name(int fd);

}  // namespace s2s::net
