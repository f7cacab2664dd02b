// Test doubles for mux faults: a cuttable TCP relay, a TLS peer speaking crafted yamux frames,
// and a log capture.
#include "proxy/mux_fakes.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <openssl/ssl.h>

#include "log/log.hpp"
#include "tls/context.hpp"

namespace s2s::testing {
namespace {

using namespace std::chrono_literals;

// Listens on 127.0.0.1 with a port the kernel picks; returns the socket, sets `port`.
int listen_on_loopback(int& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, 16) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw std::runtime_error(std::string("cannot listen on loopback: ") + std::strerror(errno));
  port = ntohs(address.sin_port);
  return fd;
}

// Closes with a reset, the way a cut cable or a dead middlebox looks to both ends.
void close_with_reset(int fd) {
  linger abort{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
  ::close(fd);
}

// One relayed connection: bytes read from one side wait in `pending` until the other takes them.
struct relayed {
  int fd[2];
  std::vector<std::uint8_t> pending[2];  // pending[i]: read from fd[i], to be written to fd[1 - i]
};

// Moves what it can in both directions; false when either side closed or failed.
bool pump(relayed& pair, const pollfd* polled) {
  for (int from = 0; from < 2; ++from) {
    int to = 1 - from;
    auto& waiting = pair.pending[from];
    if (waiting.empty() && (polled[from].revents & (POLLIN | POLLHUP | POLLERR))) {
      std::uint8_t buffer[65536];
      ssize_t got = ::recv(pair.fd[from], buffer, sizeof buffer, MSG_DONTWAIT);
      if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR))
        return false;
      if (got > 0)
        waiting.assign(buffer, buffer + got);
    }
    if (!waiting.empty()) {
      ssize_t put = ::send(pair.fd[to], waiting.data(), waiting.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (put < 0 && errno != EAGAIN && errno != EINTR)
        return false;
      if (put > 0)
        waiting.erase(waiting.begin(), waiting.begin() + put);
    }
  }
  return true;
}

}  // namespace

int connect_to_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0)
    return fd;
  if (fd >= 0)
    ::close(fd);
  return -1;
}

// --- loopback_worker

loopback_worker::loopback_worker() {
  listen_fd_ = listen_on_loopback(port_);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

loopback_worker::~loopback_worker() {
  stop();
  ::close(listen_fd_);
  ::close(wake_fd_);
}

void loopback_worker::start(std::function<void()> body) { thread_ = std::thread(std::move(body)); }

void loopback_worker::stop() {
  stopping_ = true;
  wake();
  if (thread_.joinable())
    thread_.join();
}

void loopback_worker::wake() {
  std::uint64_t one = 1;
  [[maybe_unused]] auto written = ::write(wake_fd_, &one, sizeof one);
}

void loopback_worker::drained() {
  std::uint64_t value;
  while (::read(wake_fd_, &value, sizeof value) > 0) {
  }
}

// --- tcp_relay

tcp_relay::tcp_relay(int target_port) : target_port_(target_port) {
  worker_.start([this] { run(); });
}

tcp_relay::~tcp_relay() { worker_.stop(); }

void tcp_relay::cut() {
  std::unique_lock guard(mutex_);
  auto wanted = ++cuts_requested_;
  worker_.wake();
  changed_.wait_for(guard, 10s, [&] { return cuts_done_ >= wanted; });
}

std::size_t tcp_relay::connections_accepted() const {
  std::lock_guard guard(mutex_);
  return accepted_;
}

void tcp_relay::run() {
  std::vector<relayed> pairs;
  std::vector<pollfd> fds;
  while (!worker_.stopping()) {
    {
      std::lock_guard guard(mutex_);
      if (cuts_done_ < cuts_requested_) {
        for (auto& pair : pairs)
          for (int fd : pair.fd)
            close_with_reset(fd);
        pairs.clear();
        cuts_done_ = cuts_requested_;
        changed_.notify_all();
      }
    }
    fds.clear();
    fds.push_back({worker_.listen_fd(), POLLIN, 0});
    fds.push_back({worker_.wake_fd(), POLLIN, 0});
    for (auto& pair : pairs)
      for (int side = 0; side < 2; ++side) {
        short events = pair.pending[side].empty() ? POLLIN : 0;
        if (!pair.pending[1 - side].empty())
          events |= POLLOUT;
        fds.push_back({pair.fd[side], events, 0});
      }
    ::poll(fds.data(), fds.size(), 200);
    if (fds[1].revents & POLLIN)
      worker_.drained();
    std::vector<relayed> kept;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      if (pump(pairs[i], &fds[2 + 2 * i])) {
        kept.push_back(std::move(pairs[i]));
      } else {
        for (int fd : pairs[i].fd)
          ::close(fd);
      }
    }
    pairs = std::move(kept);
    if (fds[0].revents & POLLIN) {
      int accepted = ::accept4(worker_.listen_fd(), nullptr, nullptr, SOCK_CLOEXEC);
      if (accepted < 0)
        continue;
      int onward = connect_to_loopback(target_port_);
      if (onward < 0) {
        close_with_reset(accepted);
        continue;
      }
      pairs.push_back({{accepted, onward}, {}});
      std::lock_guard guard(mutex_);
      ++accepted_;
    }
  }
  for (auto& pair : pairs)
    for (int fd : pair.fd)
      ::close(fd);
}

// --- fake_mux_server

std::vector<std::uint8_t> frame_bytes(std::uint8_t version, std::uint8_t type, std::uint16_t flags,
                                      std::uint32_t stream, std::uint32_t length) {
  return {version,
          type,
          static_cast<std::uint8_t>(flags >> 8),
          static_cast<std::uint8_t>(flags),
          static_cast<std::uint8_t>(stream >> 24),
          static_cast<std::uint8_t>(stream >> 16),
          static_cast<std::uint8_t>(stream >> 8),
          static_cast<std::uint8_t>(stream),
          static_cast<std::uint8_t>(length >> 24),
          static_cast<std::uint8_t>(length >> 16),
          static_cast<std::uint8_t>(length >> 8),
          static_cast<std::uint8_t>(length)};
}

fake_mux_server::fake_mux_server(const config::tls_config& tls, std::vector<std::uint8_t> script)
    : script_(std::move(script)) {
  auto made = tls::server_context(tls);
  if (auto* problem = std::get_if<std::string>(&made))
    throw std::runtime_error("fake mux server: " + *problem);
  auto context = std::get<tls::context_ptr>(made);
  SSL_CTX_up_ref(context.get());
  context_ = context.get();
  worker_.start([this] { run(); });
}

fake_mux_server::~fake_mux_server() {
  worker_.stop();
  SSL_CTX_free(static_cast<SSL_CTX*>(context_));
}

std::size_t fake_mux_server::sessions() const {
  std::lock_guard guard(mutex_);
  return connections_.size();
}

std::vector<frame_seen> fake_mux_server::frames(std::size_t index) const {
  std::lock_guard guard(mutex_);
  return index < connections_.size() ? connections_[index] : std::vector<frame_seen>{};
}

bool fake_mux_server::wait_until(const std::function<bool(const fake_mux_server&)>& done,
                                 std::chrono::milliseconds timeout) const {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (done(*this))
      return true;
    std::unique_lock guard(mutex_);
    changed_.wait_for(guard, 20ms);
  }
  return done(*this);
}

void fake_mux_server::run() {
  while (!worker_.stopping()) {
    pollfd fds[2] = {{worker_.listen_fd(), POLLIN, 0}, {worker_.wake_fd(), POLLIN, 0}};
    ::poll(fds, 2, 200);
    if (fds[1].revents & POLLIN)
      worker_.drained();
    if (!(fds[0].revents & POLLIN))
      continue;
    int fd = ::accept4(worker_.listen_fd(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0)
      continue;
    serve(fd);
    ::close(fd);
  }
}

// One connection: handshake, the script, then the client's frames until it closes. Every
// blocking step is bounded by the socket's time-outs.
void fake_mux_server::serve(int fd) {
  timeval limit{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  SSL* ssl = SSL_new(static_cast<SSL_CTX*>(context_));
  SSL_set_fd(ssl, fd);
  if (SSL_accept(ssl) != 1) {
    SSL_free(ssl);
    return;
  }
  std::size_t index;
  {
    std::lock_guard guard(mutex_);
    index = connections_.size();
    connections_.emplace_back();
    changed_.notify_all();
  }
  if (!script_.empty())
    SSL_write(ssl, script_.data(), static_cast<int>(script_.size()));
  std::vector<std::uint8_t> bytes;
  std::uint8_t buffer[16384];
  for (;;) {
    int got = SSL_read(ssl, buffer, sizeof buffer);
    if (got <= 0)
      break;
    bytes.insert(bytes.end(), buffer, buffer + got);
    // Take every complete header (and skip data payloads).
    std::size_t at = 0;
    while (bytes.size() - at >= 12) {
      const auto* h = bytes.data() + at;
      frame_seen frame{h[0], h[1], static_cast<std::uint16_t>(h[2] << 8 | h[3]),
                       static_cast<std::uint32_t>(h[4]) << 24 | h[5] << 16 | h[6] << 8 | h[7],
                       static_cast<std::uint32_t>(h[8]) << 24 | h[9] << 16 | h[10] << 8 | h[11]};
      std::size_t size = 12 + (frame.type == 0 ? frame.length : 0);
      if (bytes.size() - at < size)
        break;
      at += size;
      std::lock_guard guard(mutex_);
      connections_[index].push_back(frame);
      changed_.notify_all();
    }
    bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(at));
  }
  SSL_free(ssl);
}

// --- log_capture

log_capture::log_capture() {
  log::set_output([this](std::string_view line) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
    std::lock_guard guard(mutex_);
    lines_.emplace_back(line);
    added_.notify_all();
  });
}

log_capture::~log_capture() { log::set_output({}); }

std::string log_capture::wait_for(const std::vector<std::string>& parts, std::chrono::milliseconds timeout) {
  auto matches = [&](const std::string& line) {
    for (const auto& part : parts)
      if (line.find(part) == std::string::npos)
        return false;
    return true;
  };
  std::unique_lock guard(mutex_);
  std::size_t checked = 0;
  auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (; checked < lines_.size(); ++checked)
      if (matches(lines_[checked]))
        return lines_[checked];
    if (added_.wait_until(guard, until) == std::cv_status::timeout && checked == lines_.size())
      return {};
  }
}

std::vector<std::string> log_capture::lines() const {
  std::lock_guard guard(mutex_);
  return lines_;
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (done())
      return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

}  // namespace s2s::testing
