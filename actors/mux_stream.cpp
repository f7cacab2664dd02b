// The stream role: one yamux stream bridged to grpc++ through a socketpair.
#include "actors/mux_stream.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace s2s::actors {
namespace {

// Larger socket buffers let a 1 MiB message cross the bridge in few wakeups.
constexpr int socket_buffer_bytes = 1024 * 1024;

}  // namespace

bool stream_bridge::create(yamux::stream_id id, stream_bridge& out, int& grpc_end, std::string& problem) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    problem = std::string("cannot create a socket pair: ") + std::strerror(errno);
    return false;
  }
  // Both ends must not block. Ours because the I/O thread serves every stream of the session;
  // grpc++'s because grpc's endpoint assumes it: grpc::AddInsecureChannelFromFd does not set
  // O_NONBLOCK itself, and a read that blocks there holds the HTTP/2 transport (and whichever
  // grpc thread polled it) until the peer sends more, which it cannot while it waits for the
  // window update that transport is holding back.
  for (int fd : pair) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &socket_buffer_bytes, sizeof socket_buffer_bytes);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &socket_buffer_bytes, sizeof socket_buffer_bytes);
  }
  out = stream_bridge();
  out.id_ = id;
  out.fd_ = pair[0];
  grpc_end = pair[1];
  return true;
}

stream_bridge::stream_bridge(stream_bridge&& other) noexcept { *this = std::move(other); }

stream_bridge& stream_bridge::operator=(stream_bridge&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    id_ = other.id_;
    fd_ = std::exchange(other.fd_, -1);
    unsent_ = std::move(other.unsent_);
    unsent_head_ = other.unsent_head_;
    grpc_eof_ = other.grpc_eof_;
    fin_sent_ = other.fin_sent_;
    remote_closed_ = other.remote_closed_;
    shut_down_write_ = other.shut_down_write_;
    readable_ = other.readable_;
  }
  return *this;
}

stream_bridge::~stream_bridge() {
  if (fd_ >= 0)
    ::close(fd_);
}

short stream_bridge::wanted_events(const yamux::session& session, bool may_take_input) const {
  short events = 0;
  if (!session.readable(id_).empty() && !shut_down_write_)
    events |= POLLOUT;
  if (may_take_input && !grpc_eof_ && buffered_bytes() == 0)
    events |= POLLIN;
  return events;
}

bool stream_bridge::deliver(yamux::session& session) {
  while (!shut_down_write_) {
    auto data = session.readable(id_);
    if (data.empty())
      break;
    ssize_t written = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (written < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return true;
      if (errno == EINTR)
        continue;
      return false;
    }
    session.consume(id_, static_cast<std::size_t>(written));
  }
  if (remote_closed_ && !shut_down_write_ && session.readable(id_).empty()) {
    ::shutdown(fd_, SHUT_WR);
    shut_down_write_ = true;
  }
  return true;
}

bool stream_bridge::take(yamux::session& session, yamux::clock::time_point now, std::span<std::uint8_t> scratch) {
  if (buffered_bytes() > 0) {
    std::span<const std::uint8_t> rest(unsent_.data() + unsent_head_, buffered_bytes());
    unsent_head_ += session.write(id_, rest);
    if (buffered_bytes() > 0)
      return true;  // the window is full; stream_writable brings us back
    unsent_.clear();
    unsent_head_ = 0;
  }
  // Straight from the socket into the session's output; only what the window refuses is kept.
  while (!grpc_eof_ && readable_) {
    ssize_t got = ::recv(fd_, scratch.data(), scratch.size(), 0);
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        readable_ = false;  // until poll says otherwise
        return true;
      }
      if (errno == EINTR)
        continue;
      return false;
    }
    if (got == 0) {
      grpc_eof_ = true;
      break;
    }
    auto read = std::span<const std::uint8_t>(scratch.data(), static_cast<std::size_t>(got));
    auto taken = session.write(id_, read);
    if (taken < read.size()) {
      unsent_.assign(read.begin() + static_cast<std::ptrdiff_t>(taken), read.end());
      return true;
    }
  }
  if (!grpc_eof_)
    return true;  // nothing more to read until poll says so
  if (!fin_sent_ && buffered_bytes() == 0) {
    fin_sent_ = true;
    session.close(id_, now);
  }
  return true;
}

bridge_outcome stream_bridge::pump(yamux::session& session, yamux::clock::time_point now,
                                   std::span<std::uint8_t> scratch) {
  if (!deliver(session) || !take(session, now, scratch))
    return bridge_outcome::reset;
  return bridge_outcome::open;
}

}  // namespace s2s::actors
