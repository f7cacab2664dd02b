// The socket loop: poll, write what the core has, read what the peer sent, repeat.
#include "socket_driver.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace s2s::http2::testing {

bool drive(int fd, connection& c, const std::function<void(const event&)>& handler, const std::function<bool()>& done,
           std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<std::uint8_t> buffer(64 * 1024);
  auto drain = [&] {
    while (auto e = c.poll_event())
      handler(*e);
  };
  while (std::chrono::steady_clock::now() < deadline) {
    drain();
    if (done())
      return true;
    const auto out = c.pending_output();
    drain();
    pollfd p{fd, static_cast<short>(POLLIN | (out.empty() ? 0 : POLLOUT)), 0};
    if (::poll(&p, 1, 20) < 0 && errno != EINTR)
      return false;
    if ((p.revents & POLLOUT) && !out.empty()) {
      const auto n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        return done();
      if (n > 0)
        c.consume_output(static_cast<std::size_t>(n));
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      const auto n = ::recv(fd, buffer.data(), buffer.size(), 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        drain();
        return done();
      }
      if (n > 0)
        c.receive({buffer.data(), static_cast<std::size_t>(n)});
    }
  }
  drain();
  return done();
}

int listen_loopback(int& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, 8) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (fd >= 0)
      ::close(fd);
    return -1;
  }
  port = ntohs(address.sin_port);
  return fd;
}

int accept_within(int listener, std::chrono::milliseconds timeout) {
  pollfd p{listener, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0)
    return -1;
  const int fd = ::accept(listener, nullptr, nullptr);
  const int one = 1;
  if (fd >= 0)
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    if (fd >= 0)
      ::close(fd);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace s2s::http2::testing
