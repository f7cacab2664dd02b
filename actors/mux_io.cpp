// The I/O thread of one mux session: TCP and TLS setup, then TLS socket <-> yamux <-> bridges.
#include "actors/mux_io.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <system_error>
#include <utility>

#include <openssl/err.h>

#include "actors/mux_stream.hpp"
#include "log/log.hpp"

namespace s2s::actors {
namespace {

using yamux::clock;
using namespace std::chrono_literals;

// One buffer per session for reading the transport and the bridges. A TLS read yields at most
// one 16 KiB record; a bridge read takes what grpc++ wrote, usually less. (Four times this
// gained little for 1 MiB messages and doubled the memory of an idle session.)
constexpr std::size_t read_buffer_bytes = 64 * 1024;
// Stop reading from the transport while this much output waits: the peer then waits on TCP.
constexpr std::size_t output_high_water = 4 * 1024 * 1024;
constexpr std::size_t write_chunk = 256 * 1024;
// TLS records (16 KiB at most) collect here and reach the socket together, in one send per
// flush rather than one per record.
constexpr int tls_write_buffer_bytes = 256 * 1024;
constexpr auto final_flush_limit = 1s;

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

std::string errno_text(int code) { return std::strerror(code); }

std::string peer_name(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    return "unknown peer";
  return address_text(address);
}

int millis_until(clock::time_point now, clock::time_point then) {
  if (then <= now)
    return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(then - now).count();
  return static_cast<int>(std::min<long long>(ms, 1000));
}

}  // namespace

std::string address_text(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    ::inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
  ::inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
  return "[" + std::string(host) + "]:" + std::to_string(ntohs(v6->sin6_port));
}

// Everything the thread owns. It lives on the thread's stack, so nothing in it is shared.
class mux_io::worker {
 public:
  worker(mux_io& owner, mux_io_setup setup, mux_io_events events)
      : owner_(owner), setup_(std::move(setup)), events_(std::move(events)) {}

  ~worker() {
    bridges_.clear();
    if (ssl_) {
      SSL_shutdown(ssl_);  // one non-blocking attempt at close_notify
      SSL_free(ssl_);
    }
    if (fd_ >= 0)
      ::close(fd_);
    ERR_clear_error();
  }

  void run() {
    std::string problem;
    if (!connect(problem) || !handshake(problem)) {
      events_.down(problem, false);
      return;
    }
    auto reason = serve();
    events_.down(reason, up_);
  }

 private:
  // --- setup

  bool stop_requested() {
    std::lock_guard guard(owner_.mutex_);
    return owner_.stop_requested_;
  }

  // Waits until `fd` is ready for `events`; false with a reason on time-out or stop.
  bool wait_for(short events, clock::time_point deadline, const char* what, std::string& problem) {
    for (;;) {
      if (stop_requested()) {
        problem = "stopped";
        return false;
      }
      auto now = clock::now();
      if (now >= deadline) {
        problem = std::string("timed out ") + what;
        return false;
      }
      pollfd fds[2] = {{fd_, events, 0}, {owner_.wake_fd_, POLLIN, 0}};
      int rc = ::poll(fds, 2, millis_until(now, deadline));
      if (rc < 0 && errno != EINTR) {
        problem = "poll failed: " + errno_text(errno);
        return false;
      }
      if (fds[1].revents & POLLIN)
        drain_wake();
      if (fds[0].revents)
        return true;
    }
  }

  bool connect(std::string& problem) {
    if (!setup_.dial) {
      fd_ = setup_.accepted_fd;
      setup_.accepted_fd = -1;
      set_nonblocking(fd_);
      int one = 1;
      ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return true;
    }
    const auto& target = *setup_.dial;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    auto port = std::to_string(target.port);
    if (int rc = ::getaddrinfo(target.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
      problem = "cannot resolve " + target.to_string() + ": " + ::gai_strerror(rc);
      return false;
    }
    auto deadline = clock::now() + setup_.connect_timeout;
    problem = "no address to connect to";
    for (auto* entry = found; entry; entry = entry->ai_next) {
      fd_ = ::socket(entry->ai_family, entry->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, entry->ai_protocol);
      if (fd_ < 0)
        continue;
      int rc = ::connect(fd_, entry->ai_addr, entry->ai_addrlen);
      if (rc != 0 && errno == EINPROGRESS && wait_for(POLLOUT, deadline, "connecting", problem)) {
        int error = 0;
        socklen_t length = sizeof error;
        ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length);
        rc = error == 0 ? 0 : -1;
        errno = error;
        if (error != 0)
          problem = "cannot connect to " + target.to_string() + ": " + errno_text(error);
      } else if (rc != 0 && errno != EINPROGRESS) {
        problem = "cannot connect to " + target.to_string() + ": " + errno_text(errno);
      }
      if (rc == 0)
        break;
      ::close(fd_);
      fd_ = -1;
    }
    ::freeaddrinfo(found);
    if (fd_ < 0)
      return false;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return true;
  }

  bool handshake(std::string& problem) {
    peer_ = peer_name(fd_);
    if (!setup_.tls_context)
      return true;
    ERR_clear_error();
    ssl_ = SSL_new(setup_.tls_context.get());
    if (!ssl_ || SSL_set_fd(ssl_, fd_) != 1) {
      problem = "cannot start TLS: " + tls::drain_errors();
      return false;
    }
    if (setup_.dial) {
      if (!tls::prepare_client(ssl_, setup_.tls, setup_.dial->host, problem))
        return false;
      SSL_set_connect_state(ssl_);
    } else {
      SSL_set_accept_state(ssl_);
    }
    auto deadline = clock::now() + setup_.handshake_timeout;
    for (;;) {
      int rc = SSL_do_handshake(ssl_);
      if (rc == 1)
        return buffer_tls_writes(problem);
      int error = SSL_get_error(ssl_, rc);
      short events = error == SSL_ERROR_WANT_READ ? POLLIN : error == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
      if (events == 0) {
        problem = "TLS handshake with " + peer_ + " failed: " + tls::handshake_problem(ssl_, error);
        return false;
      }
      if (!wait_for(events, deadline, "in the TLS handshake", problem)) {
        problem = "TLS handshake with " + peer_ + ": " + problem;
        return false;
      }
    }
  }

  // Puts a buffer between TLS and the socket for writes; reads stay direct.
  bool buffer_tls_writes(std::string& problem) {
    BIO* socket = SSL_get_wbio(ssl_);
    BIO* buffer = BIO_new(BIO_f_buffer());
    if (!buffer || BIO_set_write_buffer_size(buffer, tls_write_buffer_bytes) != 1) {
      BIO_free(buffer);
      problem = "cannot buffer TLS writes: " + tls::drain_errors();
      return false;
    }
    // The socket BIO stays the read BIO and becomes the end of the write chain as well.
    BIO_up_ref(socket);
    BIO_push(buffer, socket);
    SSL_set0_wbio(ssl_, buffer);
    return true;
  }

  // --- the transport

  enum class io_status { progress, would_block, closed, failed };

  // TLS output still in the write buffer.
  bool tls_buffered() const { return ssl_ && BIO_wpending(SSL_get_wbio(ssl_)) > 0; }
  // Anything still to go to the transport: yamux frames, or TLS records in the buffer.
  bool output_waiting() const { return !session_->pending_output().empty() || tls_buffered(); }

  // Sends what the TLS write buffer holds, as far as the socket takes it.
  io_status flush_tls(std::string& problem) {
    if (!tls_buffered())
      return io_status::progress;
    errno = 0;
    BIO* buffer = SSL_get_wbio(ssl_);
    if (BIO_flush(buffer) == 1)
      return io_status::progress;
    if (BIO_should_retry(buffer))
      return io_status::would_block;
    problem = "TLS write failed: " + tls_failure();
    return io_status::failed;
  }

  io_status transport_read(std::uint8_t* data, std::size_t size, std::size_t& got, std::string& problem) {
    if (!ssl_) {
      ssize_t rc = ::recv(fd_, data, size, 0);
      if (rc > 0) {
        got = static_cast<std::size_t>(rc);
        return io_status::progress;
      }
      if (rc == 0)
        return io_status::closed;
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return io_status::would_block;
      problem = errno_text(errno);
      return io_status::failed;
    }
    errno = 0;
    int rc = SSL_read(ssl_, data, static_cast<int>(size));
    if (rc > 0) {
      got = static_cast<std::size_t>(rc);
      return io_status::progress;
    }
    int error = SSL_get_error(ssl_, rc);
    read_wants_write_ = error == SSL_ERROR_WANT_WRITE;
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE)
      return io_status::would_block;
    // A close_notify, or (OpenSSL 3) a TCP close without one: either way the peer is gone.
    if (error == SSL_ERROR_ZERO_RETURN || (error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) ||
        ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      ERR_clear_error();
      return io_status::closed;
    }
    problem = "TLS read failed: " + tls_failure();
    return io_status::failed;
  }

  io_status transport_write(const std::uint8_t* data, std::size_t size, std::size_t& put, std::string& problem) {
    if (!ssl_) {
      ssize_t rc = ::send(fd_, data, size, MSG_NOSIGNAL);
      if (rc >= 0) {
        put = static_cast<std::size_t>(rc);
        return io_status::progress;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return io_status::would_block;
      problem = errno_text(errno);
      return io_status::failed;
    }
    errno = 0;
    int rc = SSL_write(ssl_, data, static_cast<int>(size));
    if (rc > 0) {
      put = static_cast<std::size_t>(rc);
      return io_status::progress;
    }
    int error = SSL_get_error(ssl_, rc);
    write_wants_read_ = error == SSL_ERROR_WANT_READ;
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE)
      return io_status::would_block;
    problem = "TLS write failed: " + tls_failure();
    return io_status::failed;
  }

  // OpenSSL's queued errors, or what the socket said when OpenSSL has none (a reset, a pipe
  // the peer closed).
  static std::string tls_failure() {
    int code = errno;
    auto queued = tls::drain_errors();
    if (!queued.empty())
      return queued;
    return code != 0 ? errno_text(code) : "the connection ended";
  }

  // Writes queued output until the socket is full; false when the transport broke.
  bool flush(std::string& problem) {
    for (;;) {
      auto pending = session_->pending_output();
      std::size_t put = 0;
      auto status = pending.empty()
                        ? flush_tls(problem)
                        : transport_write(pending.data(), std::min(pending.size(), write_chunk), put, problem);
      if (status == io_status::would_block)
        return true;
      if (status != io_status::progress) {
        problem = "writing to " + peer_ + " failed: " + problem;
        return false;
      }
      if (pending.empty())
        return true;
      session_->consume_output(put);
      if (setup_.traffic)
        setup_.traffic->bytes_sent += put;
    }
  }

  // Reads what the transport has, while output is not piling up; false when it ended.
  bool fill(std::string& problem) {
    for (int round = 0; round < 16; ++round) {
      if (session_->ended() || session_->pending_output().size() > output_high_water)
        return true;
      std::size_t got = 0;
      auto status = transport_read(read_buffer_.get(), read_buffer_bytes, got, problem);
      if (status == io_status::would_block)
        return true;
      if (status == io_status::closed) {
        problem = peer_ + " closed the connection";
        return false;
      }
      if (status == io_status::failed) {
        problem = "reading from " + peer_ + " failed: " + problem;
        return false;
      }
      session_->receive(std::span<const std::uint8_t>(read_buffer_.get(), got), clock::now());
      if (setup_.traffic)
        setup_.traffic->bytes_received += got;
    }
    return true;
  }

  // --- the session

  // The session counts as up once a valid frame arrived, not when TLS is done: under TLS 1.3 a
  // server refuses a client certificate only after the client finished its handshake, and a
  // peer that is not yamux at all fails on its first frame.
  void announce_once_the_peer_spoke() {
    if (up_ || session_->ended() || session_->frames_received() == 0)
      return;
    up_ = true;
    events_.up(peer_);
  }

  void drain_wake() {
    std::uint64_t value;
    while (::read(owner_.wake_fd_, &value, sizeof value) > 0) {
    }
  }

  void add_bridge(yamux::stream_id id, bool ours) {
    stream_bridge bridge;
    int grpc_fd = -1;
    std::string problem;
    if (!stream_bridge::create(id, bridge, grpc_fd, problem)) {
      log::error(setup_.name, "stream " + std::to_string(id) + " reset: " + problem);
      session_->reset(id);
      if (ours)
        events_.open_failed(problem);
      return;
    }
    bridges_.emplace(id, std::move(bridge));
    if (ours)
      events_.opened(id, grpc_fd);
    else
      events_.accepted(id, grpc_fd);
  }

  void handle_commands(clock::time_point now) {
    int opens = 0;
    {
      std::lock_guard guard(owner_.mutex_);
      opens = std::exchange(owner_.open_requests_, 0);
      if (owner_.stop_requested_ && !session_->ended() && !session_->went_away()) {
        session_->go_away(yamux::go_away_code::normal);
        session_->end("the session was stopped");
      }
    }
    for (int i = 0; i < opens; ++i) {
      auto opened = session_->open_stream(now);
      if (!opened) {
        events_.open_failed(opened.error);
        continue;
      }
      add_bridge(opened.id, true);
    }
  }

  void end_bridge(yamux::stream_id id, bool reset) {
    if (bridges_.erase(id) > 0)
      events_.stream_ended(id, reset);
  }

  void drain_events() {
    while (auto event = session_->poll_event()) {
      std::visit(
          [&](auto& e) {
            using type = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<type, yamux::stream_incoming>) {
              while (auto id = session_->accept_stream())
                add_bridge(*id, false);
            } else if constexpr (std::is_same_v<type, yamux::stream_remote_closed>) {
              if (auto found = bridges_.find(e.id); found != bridges_.end())
                found->second.remote_closed();
            } else if constexpr (std::is_same_v<type, yamux::stream_closed>) {
              end_bridge(e.id, false);
            } else if constexpr (std::is_same_v<type, yamux::stream_reset>) {
              end_bridge(e.id, true);
            } else if constexpr (std::is_same_v<type, yamux::go_away_received>) {
              log::warn(setup_.name, "the peer sent go-away: " + yamux::describe(e.code));
            } else if constexpr (std::is_same_v<type, yamux::ping_acknowledged>) {
              if (setup_.traffic) {
                auto nanoseconds = static_cast<std::uint64_t>(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(e.round_trip).count());
                setup_.traffic->round_trip_nanoseconds += nanoseconds;
                setup_.traffic->last_round_trip_nanoseconds = nanoseconds;
                ++setup_.traffic->pings_answered;
              }
            } else if constexpr (std::is_same_v<type, yamux::ping_timed_out>) {
              if (!up_)
                session_->end(peer_ + " did not answer a yamux ping after the TLS handshake");
              else
                log::warn(setup_.name, "a ping to " + peer_ + " got no reply");
            } else if constexpr (std::is_same_v<type, yamux::session_ended>) {
              end_reason_ = e.reason;
            }
          },
          *event);
    }
  }

  void pump_bridges(clock::time_point now) {
    std::vector<yamux::stream_id> broken;
    auto scratch = std::span<std::uint8_t>(read_buffer_.get(), read_buffer_bytes);
    for (auto& [id, bridge] : bridges_)
      if (bridge.pump(*session_, now, scratch) == bridge_outcome::reset)
        broken.push_back(id);
    for (auto id : broken) {
      session_->reset(id);
      end_bridge(id, true);
    }
  }

  std::string serve() {
    auto side = setup_.dial ? yamux::role::client : yamux::role::server;
    session_.emplace(side, setup_.yamux, clock::now());
    // Not zero-filled: a page of it is resident only once a read has reached it, so an idle
    // session holds the little its pings and window updates touch.
    read_buffer_.reset(new std::uint8_t[read_buffer_bytes]);
    // Any yamux peer answers a ping; its answer (or any other frame first) shows the session works.
    session_->ping(clock::now());
    std::string problem;
    std::vector<pollfd> fds;
    while (!session_->ended()) {
      auto now = clock::now();
      handle_commands(now);
      drain_events();
      pump_bridges(now);
      drain_events();
      if (!flush(problem)) {
        session_->end(problem);
        drain_events();
        break;
      }
      drain_events();
      if (session_->ended())
        break;
      owner_.streams_.store(bridges_.size());

      fds.clear();
      bool writing = output_waiting();
      short socket_events = POLLIN;
      if (writing || read_wants_write_)
        socket_events |= POLLOUT;
      if (session_->pending_output().size() > output_high_water && !write_wants_read_)
        socket_events &= ~POLLIN;
      fds.push_back({fd_, socket_events, 0});
      fds.push_back({owner_.wake_fd_, POLLIN, 0});
      bool room = session_->pending_output().size() <= output_high_water;
      for (auto& [id, bridge] : bridges_)
        fds.push_back({bridge.fd(), bridge.wanted_events(*session_, room), 0});
      int timeout = 1000;
      if (auto deadline = session_->next_deadline())
        timeout = millis_until(now, *deadline);
      if (writing)
        timeout = std::min(timeout, 100);  // the core watches for a stalled transport in tick()
      // Data may wait inside the TLS layer where poll cannot see it (unless we are not reading
      // now because output piles up).
      if (ssl_ && room && SSL_has_pending(ssl_))
        timeout = 0;
      if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
        session_->end("poll failed: " + errno_text(errno));
        drain_events();
        break;
      }
      if (fds[1].revents & POLLIN)
        drain_wake();
      std::size_t polled = 2;
      for (auto& [id, bridge] : bridges_)
        bridge.polled(fds[polled++].revents);
      // The transport is read when poll saw it move, or TLS holds bytes poll cannot see.
      bool transport_moved = fds[0].revents != 0 || (ssl_ && SSL_has_pending(ssl_));
      if (transport_moved && !fill(problem)) {
        session_->end(problem);
        drain_events();
        break;
      }
      announce_once_the_peer_spoke();
      drain_events();
      session_->tick(clock::now());
    }
    // Best effort: let a go-away reach the peer.
    auto until = clock::now() + final_flush_limit;
    while (output_waiting() && clock::now() < until) {
      std::string ignored;
      if (!flush(ignored) || !output_waiting())
        break;
      pollfd out{fd_, POLLOUT, 0};
      ::poll(&out, 1, 50);
    }
    owner_.streams_.store(0);
    return end_reason_.empty() ? session_->end_reason() : end_reason_;
  }

  mux_io& owner_;
  mux_io_setup setup_;
  mux_io_events events_;
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string peer_;
  std::optional<yamux::session> session_;
  std::map<yamux::stream_id, stream_bridge> bridges_;
  std::unique_ptr<std::uint8_t[]> read_buffer_;
  std::string end_reason_;
  bool read_wants_write_ = false;
  bool write_wants_read_ = false;
  bool up_ = false;  // announced through events_.up
};

mux_io::mux_io(mux_io_setup setup, mux_io_events events) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0)
    throw std::system_error(errno, std::system_category(), "cannot make the session's wake-up fd");
  try {
    start_thread(std::move(setup), std::move(events));
  } catch (...) {
    ::close(wake_fd_);
    throw;
  }
}

void mux_io::start_thread(mux_io_setup setup, mux_io_events events) {
  thread_ = std::thread([this, setup = std::move(setup), events = std::move(events)]() mutable {
    ::pthread_setname_np(::pthread_self(), "s2s-mux-io");
    // A write to a socket the peer closed must fail with EPIPE, not kill the process.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    worker(*this, std::move(setup), std::move(events)).run();
  });
}

mux_io::~mux_io() {
  stop();
  if (thread_.joinable())
    thread_.join();
  if (wake_fd_ >= 0)
    ::close(wake_fd_);
}

void mux_io::wake() {
  std::uint64_t one = 1;
  [[maybe_unused]] auto written = ::write(wake_fd_, &one, sizeof one);
}

void mux_io::open_stream() {
  {
    std::lock_guard guard(mutex_);
    ++open_requests_;
  }
  wake();
}

void mux_io::stop() {
  {
    std::lock_guard guard(mutex_);
    stop_requested_ = true;
  }
  wake();
}

}  // namespace s2s::actors
