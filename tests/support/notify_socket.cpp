// The service manager's end of NOTIFY_SOCKET.
#include "support/notify_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace s2s::testing {

using namespace std::chrono_literals;

notify_socket::notify_socket(std::filesystem::path path) : path_(std::move(path)) {
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (fd_ < 0 || path_.string().size() >= sizeof(address.sun_path))
    throw std::runtime_error("cannot make a notify socket at " + path_.string());
  std::strcpy(address.sun_path, path_.c_str());
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0)
    throw std::runtime_error("cannot bind " + path_.string() + ": " + std::strerror(errno));
}

notify_socket::~notify_socket() { ::close(fd_); }

std::optional<std::string> notify_socket::next(std::chrono::milliseconds timeout) {
  pollfd readable{fd_, POLLIN, 0};
  if (::poll(&readable, 1, static_cast<int>(timeout.count())) != 1)
    return std::nullopt;
  char buffer[4096];
  auto size = ::recv(fd_, buffer, sizeof(buffer), 0);
  if (size < 0)
    return std::nullopt;
  return std::string(buffer, static_cast<std::size_t>(size));
}

std::vector<std::string> notify_socket::until(const std::string& prefix, std::chrono::milliseconds timeout) {
  return collect(timeout, prefix);
}

std::vector<std::string> notify_socket::during(std::chrono::milliseconds window) {
  return collect(window, std::nullopt);
}

std::vector<std::string> notify_socket::collect(std::chrono::milliseconds timeout,
                                                const std::optional<std::string>& last) {
  std::vector<std::string> seen;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= 0ms)
      return seen;
    auto message = next(left);
    if (!message)
      return seen;
    seen.push_back(*message);
    if (last && message->starts_with(*last))
      return seen;
  }
}

}  // namespace s2s::testing
