// The loopback TCP driver of the yamux conformance tests.
#include "tcp_session.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace s2s::yamux::testing {

namespace {

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace

loopback_listener::loopback_listener() {
  fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto addr = loopback(0);
  socklen_t length = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 4) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    throw std::runtime_error("cannot listen on 127.0.0.1");
  }
  port = ntohs(addr.sin_port);
}

loopback_listener::~loopback_listener() {
  if (fd >= 0)
    close(fd);
}

int loopback_listener::accept_one(std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) != 1)
    return -1;
  const int conn = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (conn >= 0)
    set_nodelay(conn);
  return conn;
}

int connect_loopback(const std::string& host_port) {
  const auto colon = host_port.rfind(':');
  if (colon == std::string::npos || host_port.substr(0, colon) != "127.0.0.1")
    return -1;
  auto addr = loopback(static_cast<std::uint16_t>(std::stoi(host_port.substr(colon + 1))));
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  set_nodelay(fd);
  return fd;
}

tcp_session::tcp_session(int fd, role side, const config& cfg)
    : fd_(fd), core_(side, cfg, clock::now()), buffer_(256 * 1024) {}

tcp_session::~tcp_session() {
  if (fd_ >= 0)
    close(fd_);
}

void tcp_session::step(std::chrono::milliseconds poll_timeout) {
  core_.tick(clock::now());
  const bool want_write = !core_.pending_output().empty();
  pollfd p{fd_, static_cast<short>(peer_closed_ ? 0 : POLLIN), 0};
  if (want_write)
    p.events |= POLLOUT;
  if (p.events == 0)
    return;
  if (poll(&p, 1, static_cast<int>(poll_timeout.count())) < 0 && errno != EINTR) {
    throw std::runtime_error("poll failed");
  }
  if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
    const auto n = recv(fd_, buffer_.data(), buffer_.size(), MSG_DONTWAIT);
    if (n > 0) {
      core_.receive(std::span(buffer_.data(), static_cast<std::size_t>(n)), clock::now());
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      peer_closed_ = true;
      core_.end("the peer closed the connection");
    }
  }
  const auto pending = core_.pending_output();
  if (!pending.empty() && !peer_closed_) {
    const auto n = send(fd_, pending.data(), pending.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0)
      core_.consume_output(static_cast<std::size_t>(n));
  }
  deliver_events();
}

void tcp_session::deliver_events() {
  while (auto event = core_.poll_event()) {
    if (on_event)
      on_event(*event);
  }
}

bool tcp_session::run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  deliver_events();
  while (!done()) {
    if (transport_closed() || clock::now() >= deadline)
      return done();
    step(std::chrono::milliseconds(5));
  }
  return true;
}

void tcp_session::close_transport() {
  if (fd_ < 0)
    return;
  const auto deadline = clock::now() + std::chrono::seconds(1);
  while (!peer_closed_ && !core_.pending_output().empty() && clock::now() < deadline) {
    step(std::chrono::milliseconds(5));
  }
  close(fd_);
  fd_ = -1;
}

}  // namespace s2s::yamux::testing
