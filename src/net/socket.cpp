// TCP sockets: resolve, listen, accept and dial; every fd they give is non-blocking.
#include "net/socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace s2s::net {
namespace {

struct addrinfo_deleter {
  void operator()(addrinfo* info) const { freeaddrinfo(info); }
};
using addrinfo_ptr = std::unique_ptr<addrinfo, addrinfo_deleter>;

std::variant<addrinfo_ptr, std::string> resolve(const std::string& host, std::uint16_t port, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : AI_ADDRCONFIG;
  addrinfo* found = nullptr;
  auto service = std::to_string(port);
  const char* name = host.empty() ? nullptr : host.c_str();
  if (int rc = getaddrinfo(name, service.c_str(), &hints, &found); rc != 0)
    return std::string("cannot resolve host '") + host + "': " + gai_strerror(rc);
  return addrinfo_ptr(found);
}

int bound_port(int fd) {
  sockaddr_storage local{};
  socklen_t length = sizeof local;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0)
    return 0;
  if (local.ss_family == AF_INET)
    return ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
  if (local.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);
  return 0;
}

}  // namespace

unique_fd& unique_fd::operator=(unique_fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

unique_fd::~unique_fd() {
  if (fd_ >= 0)
    ::close(fd_);
}

void prepare_stream_fd(int fd) {
  int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // fails harmlessly off TCP
}

std::variant<listening_socket, std::string> listen_tcp(const config::address& address, int backlog) {
  auto resolved = resolve(address.host, address.port, true);
  if (auto* error = std::get_if<std::string>(&resolved))
    return *error;
  std::string problem = "the address is not available";
  for (auto* entry = std::get<addrinfo_ptr>(resolved).get(); entry; entry = entry->ai_next) {
    unique_fd fd(::socket(entry->ai_family, entry->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, entry->ai_protocol));
    if (!fd)
      continue;
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), entry->ai_addr, entry->ai_addrlen) != 0 || ::listen(fd.get(), backlog) != 0) {
      problem = std::strerror(errno);
      continue;
    }
    int port = bound_port(fd.get());
    return listening_socket{std::move(fd), port};
  }
  return problem;
}

unique_fd accept_connection(int listening_fd, int* error) {
  int fd = ::accept4(listening_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) {
    if (error)
      *error = errno;
    return unique_fd();
  }
  prepare_stream_fd(fd);
  return unique_fd(fd);
}

std::variant<unique_fd, std::string> start_dial(const std::string& host, std::uint16_t port) {
  auto resolved = resolve(host, port, false);
  if (auto* error = std::get_if<std::string>(&resolved))
    return *error;
  std::string problem = "no address to connect to";
  for (auto* entry = std::get<addrinfo_ptr>(resolved).get(); entry; entry = entry->ai_next) {
    unique_fd fd(::socket(entry->ai_family, entry->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, entry->ai_protocol));
    if (!fd) {
      problem = std::strerror(errno);
      continue;
    }
    prepare_stream_fd(fd.get());
    if (::connect(fd.get(), entry->ai_addr, entry->ai_addrlen) == 0 || errno == EINPROGRESS)
      return fd;
    problem = std::strerror(errno);
  }
  return problem;
}

std::variant<unique_fd, std::string> dial(const config::address& address, const connect_wait& wait) {
  auto resolved = resolve(address.host, address.port, false);
  if (auto* error = std::get_if<std::string>(&resolved))
    return *error;
  auto refused = [&](const std::string& why) { return "cannot connect to " + address.to_string() + ": " + why; };
  std::string problem = "no address to connect to";
  for (auto* entry = std::get<addrinfo_ptr>(resolved).get(); entry; entry = entry->ai_next) {
    unique_fd fd(::socket(entry->ai_family, entry->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, entry->ai_protocol));
    if (!fd) {
      problem = refused(std::strerror(errno));
      continue;
    }
    prepare_stream_fd(fd.get());
    if (::connect(fd.get(), entry->ai_addr, entry->ai_addrlen) == 0)
      return fd;
    if (errno != EINPROGRESS) {
      problem = refused(std::strerror(errno));
      continue;
    }
    if (!wait(fd.get(), problem))
      return problem;
    auto failed = connect_result(fd.get());
    if (failed.empty())
      return fd;
    problem = refused(failed);
  }
  return problem;
}

std::string connect_result(int fd) {
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
    error = errno;
  return error == 0 ? std::string() : std::string(std::strerror(error));
}

std::string address_text(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    ::inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  if (address.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(v6->sin6_port));
  }
  return "unknown";
}

std::string peer_name(int fd) {
  sockaddr_storage peer{};
  socklen_t length = sizeof peer;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0)
    return "unknown";
  return address_text(peer);
}

}  // namespace s2s::net
