// The I/O of one mux session: TCP and TLS setup on a thread, then TLS socket <-> yamux <-> the
// streams' HTTP/2 connections on an event loop.
#include "actors/mux/io.hpp"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
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

#include "actors/mux/stream.hpp"
#include "log/log.hpp"
#include "net/event_loop.hpp"
#include "net/socket.hpp"
#include "sys/thread_name.hpp"

namespace s2s::actors {
namespace {

using yamux::clock;
using namespace std::chrono_literals;

// Reads of the transport go to the loop thread's buffer (a TLS read yields at most one 16 KiB
// record), so an idle session holds none.
constexpr std::size_t read_buffer_bytes = transport_read_bytes;
// Stop reading from the transport while this much output waits: the peer then waits on TCP.
constexpr std::size_t output_high_water = 4 * 1024 * 1024;
constexpr std::size_t write_chunk = 256 * 1024;
// TLS records (16 KiB at most) collect here and reach the socket together, in one send per
// flush rather than one per record.
constexpr int tls_write_buffer_bytes = 256 * 1024;
constexpr auto final_flush_limit = 1s;
// The longest the session's clock goes unticked; while output waits, the core watches for a
// stalled transport.
constexpr auto tick_idle = 1s;
constexpr auto tick_writing = 100ms;

std::string errno_text(int code) { return std::strerror(code); }

int millis_until(clock::time_point now, clock::time_point then) {
  if (then <= now)
    return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(then - now).count();
  return static_cast<int>(std::min<long long>(ms, 1000));
}

}  // namespace

// What the owner and the worker share: the owner's requests, and the stream count for stats.
struct mux_io::control {
  ~control() {
    if (wake_fd >= 0)
      ::close(wake_fd);
  }
  int wake_fd = -1;  // wakes the setup thread
  std::mutex mutex;  // guards the fields below
  int open_requests = 0;
  bool stop_requested = false;
  net::event_loop* loop = nullptr;  // once the session is served there
  std::weak_ptr<worker> serving;
  std::atomic<std::size_t> streams{0};

  // Any thread: makes the session look at the requests.
  void notify();
};

// Everything the session owns: made for the setup thread, then living on its event loop.
class mux_io::worker final : public net::io_handler, public std::enable_shared_from_this<worker> {
 public:
  worker(std::shared_ptr<control> shared, mux_io_setup setup, mux_io_events events)
      : control_(std::move(shared)), setup_(std::move(setup)), events_(std::move(events)) {}

  ~worker() override {
    if (ssl_) {
      SSL_shutdown(ssl_);  // one non-blocking attempt at close_notify
      SSL_free(ssl_);
    }
    if (fd_ >= 0)
      ::close(fd_);
    ERR_clear_error();
  }

  // The setup thread: connect and handshake, then the session moves to an event loop.
  void run() {
    std::string problem;
    if (!connect(problem) || !handshake(problem)) {
      events_.down(problem, false);
      return;
    }
    auto& loop = net::event_loops::instance().pick();
    loop.post([self = shared_from_this()] { self->serve(); });
  }

  void on_io(std::uint32_t events) override {
    if (finished_)
      return;
    auto keep = shared_from_this();
    if (ending_) {
      finish_ending();
      return;
    }
    in_turn_ = true;  // what the streams queue while reading goes out in the turn below
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
      read_transport();
    turn();
  }

  // A turn of the session: requests, events, the streams' news, output to the transport.
  void turn() {
    turn_posted_ = false;
    if (finished_ || ending_)
      return;
    auto keep = shared_from_this();
    in_turn_ = true;
    std::string problem;
    for (int round = 0; round < 8; ++round) {
      output_queued_ = false;
      handle_commands(clock::now());
      drain_events();
      if (!flush(problem)) {
        session_->end(problem);
        drain_events();
        break;
      }
      drain_events();
      if (!output_queued_ || session_->ended())
        break;
    }
    in_turn_ = false;
    if (session_->ended())
      return begin_ending();
    control_->streams.store(streams_.size());
    watch_for_what_is_due();
    if (output_queued_)
      post_turn();
  }

 private:
  // --- setup

  bool stop_requested() {
    std::lock_guard guard(control_->mutex);
    return control_->stop_requested;
  }

  // Waits until `fd` is ready for `events`; false with a reason on time-out or stop.
  bool wait_for(int fd, short events, clock::time_point deadline, const char* what, std::string& problem) {
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
      pollfd fds[2] = {{fd, events, 0}, {control_->wake_fd, POLLIN, 0}};
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
      net::prepare_stream_fd(fd_);
      return true;
    }
    auto deadline = clock::now() + setup_.connect_timeout;
    auto dialed = net::dial(
        *setup_.dial, [&](int fd, std::string& why) { return wait_for(fd, POLLOUT, deadline, "connecting", why); });
    if (auto* failed = std::get_if<std::string>(&dialed)) {
      problem = *failed;
      return false;
    }
    fd_ = std::get<net::unique_fd>(dialed).release();
    return true;
  }

  bool handshake(std::string& problem) {
    peer_ = net::peer_name(fd_);
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
      if (!wait_for(fd_, events, deadline, "in the TLS handshake", problem)) {
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
      auto status = transport_read(transport_read_buffer(), read_buffer_bytes, got, problem);
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
      session_->receive(std::span<const std::uint8_t>(transport_read_buffer(), got), clock::now());
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

  void serve() {
    loop_ = net::event_loop::current();
    auto side = setup_.dial ? yamux::role::client : yamux::role::server;
    session_.emplace(side, setup_.yamux, clock::now());
    // Any yamux peer answers a ping; its answer (or any other frame first) shows the session works.
    session_->ping(clock::now());
    interest_ = EPOLLIN;
    loop_->watch(fd_, interest_, this);
    self_ = shared_from_this();
    {
      std::lock_guard guard(control_->mutex);
      control_->loop = loop_;
      control_->serving = self_;
    }
    read_transport();  // TLS may hold bytes that came with the end of the handshake
    turn();
  }

  void post_turn() {
    if (turn_posted_ || finished_)
      return;
    turn_posted_ = true;
    loop_->post([weak = weak_from_this()] {
      if (auto self = weak.lock())
        self->turn();
    });
  }

  // A stream's connection queued frames on the session: they go out at the end of this turn or
  // in the next.
  void stream_output_queued() {
    output_queued_ = true;
    if (!in_turn_)
      post_turn();
  }

  void read_transport() {
    std::string problem;
    if (!fill(problem)) {
      session_->end(problem);
      drain_events();
      return;
    }
    announce_once_the_peer_spoke();
    session_->tick(clock::now());
    drain_events();
    // Records TLS has decrypted but not handed out yet: poll cannot see them.
    if (ssl_ && SSL_has_pending(ssl_) && session_->pending_output().size() <= output_high_water)
      loop_->post([weak = weak_from_this()] {
        if (auto self = weak.lock())
          self->on_io(EPOLLIN);
      });
  }

  void watch_for_what_is_due() {
    bool writing = output_waiting();
    std::uint32_t want = EPOLLIN;
    if (writing || read_wants_write_)
      want |= EPOLLOUT;
    if (session_->pending_output().size() > output_high_water && !write_wants_read_)
      want &= ~static_cast<std::uint32_t>(EPOLLIN);
    if (want != interest_) {
      interest_ = want;
      loop_->change(fd_, interest_, this);
    }
    auto now = clock::now();
    auto due = now + (writing ? tick_writing : tick_idle);
    if (auto deadline = session_->next_deadline())
      due = std::min(due, *deadline);
    if (tick_timer_ && tick_due_ <= due)
      return;
    if (tick_timer_)
      loop_->cancel(tick_timer_);
    tick_due_ = due;
    tick_timer_ = loop_->run_after(due - now, [weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        self->tick_timer_ = 0;
        if (self->finished_ || self->ending_)
          return;
        self->session_->tick(clock::now());
        self->turn();
      }
    });
  }

  void drain_wake() {
    std::uint64_t value;
    while (::read(control_->wake_fd, &value, sizeof value) > 0) {
    }
  }

  void add_stream(yamux::stream_id id, bool ours) {
    auto state = std::make_shared<mux_stream_state>();
    state->id = id;
    state->session = &*session_;
    state->output_queued = [this] { stream_output_queued(); };
    streams_.emplace(id, state);
    auto handover = std::make_shared<transport_handover>();
    handover->loop = loop_;
    handover->transport = mux_stream_transport(*loop_, std::move(state));
    if (ours)
      events_.opened(id, std::move(handover));
    else
      events_.accepted(id, std::move(handover));
  }

  void handle_commands(clock::time_point now) {
    int opens = 0;
    {
      std::lock_guard guard(control_->mutex);
      opens = std::exchange(control_->open_requests, 0);
      if (control_->stop_requested && !session_->ended() && !session_->went_away()) {
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
      add_stream(opened.id, true);
    }
  }

  std::shared_ptr<h2_connection> connection_of(yamux::stream_id id) {
    auto found = streams_.find(id);
    return found == streams_.end() ? nullptr : found->second->connection.lock();
  }

  // The stream is gone from the session: its connection (if still open) with it.
  void end_stream(yamux::stream_id id, bool reset) {
    auto found = streams_.find(id);
    if (found == streams_.end())
      return;
    auto state = found->second;
    streams_.erase(found);
    state->session = nullptr;
    if (auto connection = state->connection.lock())
      connection->close(reset ? "the mux stream was reset" : "the mux stream closed");
    events_.stream_ended(id, reset);
  }

  void drain_events() {
    while (auto event = session_->poll_event()) {
      std::visit(
          [&](auto& e) {
            using type = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<type, yamux::stream_incoming>) {
              while (auto id = session_->accept_stream())
                add_stream(*id, false);
            } else if constexpr (std::is_same_v<type, yamux::stream_readable>) {
              if (auto connection = connection_of(e.id))
                connection->transport_readable();
            } else if constexpr (std::is_same_v<type, yamux::stream_writable>) {
              if (auto connection = connection_of(e.id))
                connection->transport_writable();
            } else if constexpr (std::is_same_v<type, yamux::stream_remote_closed>) {
              if (auto found = streams_.find(e.id); found != streams_.end()) {
                found->second->remote_closed = true;
                if (auto connection = found->second->connection.lock())
                  connection->transport_readable();
              }
            } else if constexpr (std::is_same_v<type, yamux::stream_closed>) {
              end_stream(e.id, false);
            } else if constexpr (std::is_same_v<type, yamux::stream_reset>) {
              end_stream(e.id, true);
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

  // The session is over: its streams' connections end now; a go-away still queued gets a
  // bounded time to reach the peer.
  void begin_ending() {
    ending_ = true;
    auto reason = end_reason_.empty() ? session_->end_reason() : end_reason_;
    auto streams = std::move(streams_);
    streams_.clear();
    for (auto& [id, state] : streams) {
      state->session = nullptr;
      state->output_queued = nullptr;
      if (auto connection = state->connection.lock())
        connection->close("the mux session ended: " + reason);
    }
    control_->streams.store(0);
    if (tick_timer_)
      loop_->cancel(std::exchange(tick_timer_, 0));
    ending_until_ = clock::now() + final_flush_limit;
    loop_->change(fd_, EPOLLOUT, this);
    loop_->run_after(final_flush_limit, [weak = weak_from_this()] {
      if (auto self = weak.lock())
        self->finish();
    });
    finish_ending();
  }

  void finish_ending() {
    std::string ignored;
    if (!output_waiting() || !flush(ignored) || !output_waiting() || clock::now() >= ending_until_)
      finish();
  }

  void finish() {
    if (finished_)
      return;
    finished_ = true;
    loop_->unwatch(fd_);
    {
      std::lock_guard guard(control_->mutex);
      control_->loop = nullptr;
    }
    auto reason = end_reason_.empty() ? session_->end_reason() : end_reason_;
    events_.down(reason, up_);
    loop_->retire(std::move(self_));
  }

  std::shared_ptr<control> control_;
  mux_io_setup setup_;
  mux_io_events events_;
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string peer_;
  net::event_loop* loop_ = nullptr;
  std::optional<yamux::session> session_;
  std::map<yamux::stream_id, std::shared_ptr<mux_stream_state>> streams_;
  std::string end_reason_;
  std::uint32_t interest_ = 0;
  net::event_loop::timer_id tick_timer_ = 0;
  clock::time_point tick_due_{};
  clock::time_point ending_until_{};
  bool read_wants_write_ = false;
  bool write_wants_read_ = false;
  bool up_ = false;  // announced through events_.up
  bool in_turn_ = false;
  bool turn_posted_ = false;
  bool output_queued_ = false;
  bool ending_ = false;
  bool finished_ = false;
  std::shared_ptr<worker> self_;  // keeps the worker while its fd is watched
};

void mux_io::control::notify() {
  std::shared_ptr<worker> target;
  net::event_loop* on = nullptr;
  {
    std::lock_guard guard(mutex);
    on = loop;
    target = serving.lock();
  }
  if (on && target) {
    on->post([target] { target->turn(); });
    return;
  }
  std::uint64_t one = 1;
  [[maybe_unused]] auto written = ::write(wake_fd, &one, sizeof one);
}

mux_io::mux_io(mux_io_setup setup, mux_io_events events) : control_(std::make_shared<control>()) {
  control_->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (control_->wake_fd < 0)
    throw std::system_error(errno, std::system_category(), "cannot make the session's wake-up fd");
  auto work = std::make_shared<worker>(control_, std::move(setup), std::move(events));
  thread_ = std::thread([work]() mutable {
    sys::name_this_thread("s2s-mux-setup");
    // A write to a socket the peer closed must fail with EPIPE, not kill the process.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    work->run();
    work.reset();
  });
}

mux_io::~mux_io() {
  stop();
  if (thread_.joinable())
    thread_.join();
}

std::size_t mux_io::streams() const { return control_->streams.load(); }

void mux_io::open_stream() {
  {
    std::lock_guard guard(control_->mutex);
    ++control_->open_requests;
  }
  control_->notify();
}

void mux_io::stop() {
  {
    std::lock_guard guard(control_->mutex);
    control_->stop_requested = true;
  }
  control_->notify();
}

}  // namespace s2s::actors
