// One HTTP/2 connection of the data path, driven by its event loop.
#include "actors/h2/connection.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace s2s::actors {
namespace {

// What one turn reads before the loop's other connections get theirs.
constexpr std::size_t read_per_turn = 256 * 1024;
constexpr std::size_t read_chunk = transport_read_bytes;
// Streams one client connection carries before the next call opens another connection.
constexpr std::size_t streams_per_connection = 900;

class plain final : public byte_transport {
 public:
  explicit plain(net::unique_fd fd) : fd_(std::move(fd)) {}
  int fd() const override { return fd_.get(); }

  bool read(const read_sink& sink, std::string& problem) override {
    std::size_t taken = 0;
    while (taken < read_per_turn) {
      // Into the loop thread's buffer, straight on to the HTTP/2 core.
      auto* buffer = transport_read_buffer();
      auto n = ::recv(fd_.get(), buffer, read_chunk, 0);
      if (n > 0) {
        if (!sink({buffer, static_cast<std::size_t>(n)}))
          return true;
        taken += static_cast<std::size_t>(n);
        if (static_cast<std::size_t>(n) < read_chunk)
          return true;
        continue;
      }
      if (n == 0)
        return false;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return true;
      if (errno == EINTR)
        continue;
      problem = std::strerror(errno);
      return false;
    }
    return true;
  }

  std::ptrdiff_t write(std::span<const std::uint8_t> bytes, std::string& problem) override {
    for (;;) {
      auto n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n >= 0)
        return n;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return 0;
      if (errno == EINTR)
        continue;
      problem = std::strerror(errno);
      return -1;
    }
  }

 private:
  net::unique_fd fd_;
};

}  // namespace

std::uint8_t* transport_read_buffer() {
  thread_local std::unique_ptr<std::uint8_t[]> buffer(new std::uint8_t[transport_read_bytes]);
  return buffer.get();
}

std::unique_ptr<byte_transport> plain_transport(net::unique_fd fd) { return std::make_unique<plain>(std::move(fd)); }

std::shared_ptr<h2_connection> h2_connection::serve(net::event_loop& loop, std::unique_ptr<byte_transport> transport,
                                                    std::shared_ptr<h2_request_sink> sink, std::string peer,
                                                    const http2::settings& settings) {
  std::shared_ptr<h2_connection> connection(
      new h2_connection(loop, std::move(transport), http2::role::server, std::move(peer), settings));
  connection->sink_ = std::move(sink);
  loop.run_or_post([connection] { connection->start(false); });
  return connection;
}

std::shared_ptr<h2_connection> h2_connection::client(net::event_loop& loop, std::unique_ptr<byte_transport> transport,
                                                     bool connecting, std::string target,
                                                     const http2::settings& settings) {
  std::shared_ptr<h2_connection> connection(
      new h2_connection(loop, std::move(transport), http2::role::client, std::move(target), settings));
  loop.run_or_post([connection, connecting] { connection->start(connecting); });
  return connection;
}

h2_connection::h2_connection(net::event_loop& loop, std::unique_ptr<byte_transport> transport, http2::role side,
                             std::string peer, const http2::settings& settings)
    : loop_(loop), transport_(std::move(transport)), core_(side, settings), peer_(std::move(peer)) {}

h2_connection::~h2_connection() = default;

void h2_connection::start(bool connecting) {
  if (closed_)
    return;
  self_ = shared_from_this();
  connecting_ = connecting;
  interest_ = connecting ? EPOLLOUT : EPOLLIN;
  if (transport_->fd() < 0) {
    transport_->started(self_);
    read_input();  // what arrived before the connection started; then our SETTINGS
    return;
  }
  loop_.watch(transport_->fd(), interest_, this);
  if (!connecting)
    flush();  // our SETTINGS (and the client's preface)
}

void h2_connection::transport_readable() {
  if (!closed_)
    read_input();
}

void h2_connection::transport_writable() {
  if (!closed_)
    flush();
}

void h2_connection::attach(http2::stream_id id, std::shared_ptr<h2_stream> stream) {
  streams_[id] = std::move(stream);
  had_streams_ = true;
  stream_count_ = streams_.size();
}

void h2_connection::detach(http2::stream_id id) {
  streams_.erase(id);
  stream_count_ = streams_.size();
  maybe_close_idle();
}

std::shared_ptr<h2_stream> h2_connection::find(http2::stream_id id) {
  auto found = streams_.find(id);
  return found == streams_.end() ? nullptr : found->second;
}

void h2_connection::kick() {
  if (flush_due_ || closed_)
    return;
  flush_due_ = true;
  // At the end of the loop's turn: a call that queues a message, then (in a task it posts) the
  // trailers after it, sends both in one write.
  loop_.defer([self = shared_from_this()] {
    self->flush_due_ = false;
    self->flush();
  });
}

bool h2_connection::accepting_streams() const {
  if (!loop_.in_loop_thread())
    return usable_ && stream_count_ < streams_per_connection;
  return !closed_ && !go_away_received_ && !core_.ended() && !close_when_idle_ &&
         streams_.size() < streams_per_connection;
}

void h2_connection::shut_down() {
  if (closed_)
    return;
  core_.shutdown();
  kick();
}

void h2_connection::maybe_close_idle() {
  if (close_when_idle_)
    usable_ = false;
  bool idle_end = close_when_idle_ || (dedicated_ && had_streams_);
  if (idle_end && streams_.empty() && !closed_) {
    core_.go_away(http2::error_code::no_error);
    flush();
    close("");
  }
}

void h2_connection::on_io(std::uint32_t events) {
  if (closed_)
    return;  // an event read before close() unwatched the fd
  auto keep = shared_from_this();
  if (connecting_) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
      auto problem = net::connect_result(transport_->fd());
      if (!problem.empty())
        return close("cannot connect to " + peer_ + ": " + problem);
      connecting_ = false;
      flush();
    }
    return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
    read_input();
  if (!closed_ && (events & EPOLLOUT))
    flush();
}

void h2_connection::keep_alive(std::chrono::milliseconds interval, std::chrono::milliseconds timeout) {
  keepalive_interval_ = interval;
  keepalive_timeout_ = timeout;
  last_read_ = net::event_loop::clock::now();
  loop_.run_after(interval, [weak = weak_from_this()] {
    if (auto self = weak.lock())
      self->keepalive_tick();
  });
}

void h2_connection::keepalive_tick() {
  if (closed_)
    return;
  auto now = net::event_loop::clock::now();
  auto quiet = now - last_read_;
  if (!ping_outstanding_ && quiet >= keepalive_interval_) {
    auto payload = core_.ping();
    ping_outstanding_ = payload;
    kick();
    loop_.run_after(keepalive_timeout_, [weak = weak_from_this(), payload] {
      auto self = weak.lock();
      if (self && self->ping_outstanding_ == payload)
        self->close("no answer to a keepalive ping within " + std::to_string(self->keepalive_timeout_.count()) + " ms");
    });
  }
  auto next = quiet >= keepalive_interval_
                  ? keepalive_interval_
                  : std::chrono::duration_cast<std::chrono::milliseconds>(keepalive_interval_ - quiet);
  loop_.run_after(next, [weak = weak_from_this()] {
    if (auto self = weak.lock())
      self->keepalive_tick();
  });
}

void h2_connection::read_input() {
  last_read_ = net::event_loop::clock::now();
  std::string problem;
  // Each chunk's events are handled before the next chunk is read: DATA events view the chunk.
  reading_ = true;
  bool open = transport_->read(
      [this](std::span<const std::uint8_t> bytes) {
        core_.receive(bytes);
        dispatch_events();
        return !closed_;
      },
      problem);
  reading_ = false;
  if (closed_) {
    transport_.reset();  // closed while it was reading (see close())
    return;
  }
  if (!open) {
    flush();
    return close(problem.empty() ? "the peer closed the connection" : problem);
  }
  flush();
}

void h2_connection::dispatch_events() {
  auto keep = shared_from_this();
  while (!closed_) {
    auto next = core_.poll_event();
    if (!next)
      break;
    std::visit(
        [this](auto& e) {
          using E = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<E, http2::headers_received>) {
            if (e.kind == http2::header_kind::request && sink_ && !find(e.id)) {
              sink_->on_request(shared_from_this(), e);
            } else if (auto stream = find(e.id)) {
              stream->on_headers(e);
            }
          } else if constexpr (std::is_same_v<E, http2::data_received>) {
            if (auto stream = find(e.id))
              stream->on_data(e);
            else
              core_.consume(e.id, e.bytes.size());  // nobody wants it: give the credit back
          } else if constexpr (std::is_same_v<E, http2::stream_writable>) {
            if (auto stream = find(e.id))
              stream->on_writable();
          } else if constexpr (std::is_same_v<E, http2::stream_closed>) {
            if (auto stream = find(e.id)) {
              stream->on_closed();
              detach(e.id);
            }
          } else if constexpr (std::is_same_v<E, http2::stream_reset>) {
            if (auto stream = find(e.id)) {
              stream->on_reset(e.code, e.by_peer);
              detach(e.id);
            }
          } else if constexpr (std::is_same_v<E, http2::ping_acknowledged>) {
            if (ping_outstanding_ == e.payload)
              ping_outstanding_.reset();
          } else if constexpr (std::is_same_v<E, http2::go_away_received>) {
            bool first = !go_away_received_;
            go_away_received_ = true;
            usable_ = false;
            // A graceful one is passed on: the streams' callers hear of it (see actors/call/halves.hpp).
            if (first && e.code == http2::error_code::no_error) {
              std::vector<std::shared_ptr<h2_stream>> streams;
              for (auto& [id, stream] : streams_)
                if (id <= e.last_stream_id)
                  streams.push_back(stream);
              for (auto& stream : streams)
                stream->on_go_away();
            }
            if (first && go_away_callback_)
              go_away_callback_();
          } else if constexpr (std::is_same_v<E, http2::connection_error>) {
            // The core has queued its GOAWAY; flush() closes once it is written.
          }
        },
        *next);
  }
}

void h2_connection::flush() {
  if (closed_ || connecting_ || flushing_)
    return;
  auto keep = shared_from_this();
  flushing_ = true;
  bool blocked = false;
  std::string problem;
  for (int round = 0; round < 64 && !closed_; ++round) {
    if (!transport_->flush(problem)) {
      if (!problem.empty())
        break;
      blocked = true;
      break;
    }
    auto out = core_.pending_output();
    if (out.empty()) {
      // Framing may have freed streams' queues: their owners may queue more now.
      dispatch_events();
      if (core_.pending_output().empty())
        break;
      continue;
    }
    auto written = transport_->write(out, problem);
    if (written < 0)
      break;
    if (written == 0) {
      blocked = true;
      break;
    }
    core_.consume_output(static_cast<std::size_t>(written));
  }
  flushing_ = false;
  if (closed_)
    return;
  if (!problem.empty())
    return close(problem);
  if (!blocked && core_.pending_output().empty() && (core_.ended() || core_.finished()))
    return close(core_.ended() ? "the HTTP/2 connection ended" : "");
  std::uint32_t want = EPOLLIN | (blocked ? EPOLLOUT : 0u);
  if (want != interest_ && transport_->fd() >= 0) {
    interest_ = want;
    loop_.change(transport_->fd(), interest_, this);
  }
}

void h2_connection::close(const std::string& reason) {
  if (closed_)
    return;
  auto keep = std::move(self_);
  closed_ = true;
  usable_ = false;
  if (transport_ && transport_->fd() >= 0)
    loop_.unwatch(transport_->fd());
  auto streams = std::move(streams_);
  streams_.clear();
  auto why = reason.empty() ? std::string("the connection closed") : reason;
  for (auto& [id, stream] : streams)
    stream->on_connection_lost(why);
  if (sink_)
    sink_->on_connection_closed(*this);
  if (closed_callback_)
    std::exchange(closed_callback_, nullptr)();
  // Inside the transport's read (a stream's event closed it), the transport goes once that returns.
  if (!reading_)
    transport_.reset();
  loop_.retire(std::move(keep));
}

}  // namespace s2s::actors
