// A plain HTTP/1.1 client over a loopback socket, for tests of the operators' endpoints.
#include "http/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

namespace s2s::testing {

std::optional<http_reply> http_exchange(int port, const std::string& request, std::chrono::milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return std::nullopt;
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(static_cast<std::uint16_t>(port));
  target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string received;
  bool closed = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof target) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!closed) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd wait{fd, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&wait, 1, static_cast<int>(left.count())) <= 0)
        break;
      char buffer[4096];
      auto got = ::recv(fd, buffer, sizeof buffer, 0);
      if (got <= 0)
        closed = true;
      else
        received.append(buffer, static_cast<std::size_t>(got));
    }
  }
  ::close(fd);
  auto split = received.find("\r\n\r\n");
  if (!closed || split == std::string::npos || !received.starts_with("HTTP/1.1 "))
    return std::nullopt;
  http_reply reply;
  reply.status = std::atoi(received.c_str() + 9);
  reply.headers = received.substr(0, split);
  reply.body = received.substr(split + 4);
  return reply;
}

std::optional<http_reply> http_get(int port, const std::string& path, std::chrono::milliseconds timeout) {
  return http_exchange(port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", timeout);
}

}  // namespace s2s::testing
