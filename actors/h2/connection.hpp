// One HTTP/2 connection of the data path: a byte transport (TCP, TLS, or a connected fd such as a
// mux stream's) driven by an event loop, the sans-I/O HTTP/2 core on it, and the streams' halves.
//
// Everything here runs on the connection's loop thread. The loop reads the transport, feeds the
// core and hands each event to the half that owns its stream; what the halves queue leaves in
// one write at the end of the loop's turn.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "http2/connection.hpp"
#include "net/event_loop.hpp"
#include "net/socket.hpp"

namespace s2s::tls {
class session;
}

namespace s2s::actors {

class h2_connection;

// The bytes under an HTTP/2 connection. Loop thread only; every call is non-blocking.
class byte_transport {
 public:
  virtual ~byte_transport() = default;
  // The fd the loop watches; -1 for a transport its owner drives (a mux stream), which calls the
  // connection's transport_readable() and transport_writable() instead.
  virtual int fd() const = 0;
  // The connection on it has started (loop thread).
  virtual void started(const std::shared_ptr<h2_connection>& connection) {}
  // Reads the plaintext readable now (within a bound per turn), handing it to `sink` a chunk at a
  // time; a chunk is valid only during its call. The sink returns false to stop reading (the
  // connection closed meanwhile). False when the transport is over: `problem` empty for an
  // orderly end, else why.
  using read_sink = std::function<bool(std::span<const std::uint8_t>)>;
  virtual bool read(const read_sink& sink, std::string& problem) = 0;
  // Takes plaintext to send; returns how much it took (0 when the socket is full), -1 on failure.
  virtual std::ptrdiff_t write(std::span<const std::uint8_t> bytes, std::string& problem) = 0;
  // Writes what the transport itself holds (TLS records); true when nothing is left.
  virtual bool flush(std::string& problem) { return true; }
  // Whether the transport can carry application bytes yet (a TLS handshake may be running).
  virtual bool established() const { return true; }
};

// A transport and the loop its connection must run on, handed from the one that made it (a mux
// session) to the one that runs HTTP/2 on it.
struct transport_handover {
  net::event_loop* loop = nullptr;
  std::unique_ptr<byte_transport> transport;
};

// The calling loop thread's buffer for transport reads, transport_read_bytes long: one per thread,
// so an idle connection holds none.
inline constexpr std::size_t transport_read_bytes = 64 * 1024;
std::uint8_t* transport_read_buffer();

// A plain stream socket (TCP, or one end of a connected pair).
std::unique_ptr<byte_transport> plain_transport(net::unique_fd fd);
// TLS over a stream socket; the session's handshake runs as bytes arrive.
std::unique_ptr<byte_transport> tls_transport(net::unique_fd fd, std::unique_ptr<tls::session> session);

// The owner of one stream of a connection: a half of a proxied call.
class h2_stream {
 public:
  virtual ~h2_stream() = default;
  virtual void on_headers(http2::headers_received& headers) = 0;
  virtual void on_data(http2::data_received& data) = 0;
  // Everything queued on the stream has been framed.
  virtual void on_writable() = 0;
  // The stream ended normally (both directions) or was reset; it is detached after this.
  virtual void on_closed() = 0;
  virtual void on_reset(std::uint32_t code, bool by_peer) = 0;
  // The connection is gone; the stream with it. It is detached after this.
  virtual void on_connection_lost(const std::string& reason) = 0;
  // The peer sent a graceful GOAWAY: this stream goes on, no new one may start here.
  virtual void on_go_away() {}
};

// A server connection's news of new requests; runs on the loop thread.
class h2_request_sink {
 public:
  virtual ~h2_request_sink() = default;
  // A new stream: the sink attaches a half to it, or answers it at once.
  virtual void on_request(const std::shared_ptr<h2_connection>& connection, http2::headers_received& request) = 0;
  // The connection has closed (after its streams were told).
  virtual void on_connection_closed(h2_connection& connection) {}
};

class h2_connection final : public net::io_handler, public std::enable_shared_from_this<h2_connection> {
 public:
  // Serves requests arriving on `transport`; `sink` hears of each one.
  static std::shared_ptr<h2_connection> serve(net::event_loop& loop, std::unique_ptr<byte_transport> transport,
                                              std::shared_ptr<h2_request_sink> sink, std::string peer,
                                              const http2::settings& settings = {});
  // A client connection on a transport whose connect may still be under way (`connecting`:
  // writable once it has connected). `target` names it in errors.
  static std::shared_ptr<h2_connection> client(net::event_loop& loop, std::unique_ptr<byte_transport> transport,
                                               bool connecting, std::string target,
                                               const http2::settings& settings = {});
  ~h2_connection() override;

  net::event_loop& loop() { return loop_; }
  http2::connection& core() { return core_; }
  const std::string& peer() const { return peer_; }

  // Loop thread only, all of them.
  void attach(http2::stream_id id, std::shared_ptr<h2_stream> stream);
  void detach(http2::stream_id id);
  // Something was queued on the core: write it out at the end of this turn.
  void kick();
  // New streams may be opened here: not closing, not told to go away, not broken. Any thread
  // (a hint there: the loop thread's answer is the one that counts).
  bool accepting_streams() const;
  std::size_t streams() const { return streams_.size(); }
  // Graceful: GOAWAY, streams in flight finish, then the connection closes.
  void shut_down();
  // Closes now; every stream is told the connection is lost with `reason`.
  void close(const std::string& reason);
  // Takes no new stream and closes once none is left.
  void close_when_idle() {
    close_when_idle_ = true;
    maybe_close_idle();
  }
  // Closes once the last of its streams has ended (a connection of a few long-lived streams).
  void close_after_last_stream() {
    dedicated_ = true;
    maybe_close_idle();
  }
  bool closed() const { return closed_; }
  // Loop thread: pings the peer after `interval` without reading anything, and closes the
  // connection when the ping is not acknowledged within `timeout` (a dead peer on a quiet stream).
  void keep_alive(std::chrono::milliseconds interval, std::chrono::milliseconds timeout);
  // Called once, on the loop thread, after the connection has closed.
  void on_closed(std::function<void()> callback) { closed_callback_ = std::move(callback); }
  // Called on the loop thread when the peer sends its first GOAWAY.
  void on_go_away(std::function<void()> callback) { go_away_callback_ = std::move(callback); }

  void on_io(std::uint32_t events) override;
  // For a transport without an fd, from its owner on the loop thread: bytes (or its end) are
  // there to read; it takes writes again.
  void transport_readable();
  void transport_writable();

 private:
  h2_connection(net::event_loop& loop, std::unique_ptr<byte_transport> transport, http2::role side, std::string peer,
                const http2::settings& settings);
  void start(bool connecting);
  void read_input();
  void dispatch_events();
  void flush();
  void maybe_close_idle();
  std::shared_ptr<h2_stream> find(http2::stream_id id);

  net::event_loop& loop_;
  std::unique_ptr<byte_transport> transport_;
  http2::connection core_;
  std::string peer_;
  std::shared_ptr<h2_request_sink> sink_;
  std::unordered_map<http2::stream_id, std::shared_ptr<h2_stream>> streams_;
  std::uint32_t interest_ = 0;
  bool connecting_ = false;
  bool flush_due_ = false;
  bool flushing_ = false;
  bool reading_ = false;  // inside transport_->read()
  bool closed_ = false;
  bool close_when_idle_ = false;
  bool dedicated_ = false;
  bool had_streams_ = false;
  bool go_away_received_ = false;
  std::atomic<bool> usable_ = true;  // for accepting_streams() off the loop thread
  std::atomic<std::size_t> stream_count_ = 0;
  std::function<void()> closed_callback_;
  std::function<void()> go_away_callback_;
  void keepalive_tick();
  std::chrono::milliseconds keepalive_interval_{0}, keepalive_timeout_{0};
  net::event_loop::clock::time_point last_read_{};
  std::optional<std::uint64_t> ping_outstanding_;
  // Keeps the connection alive while its fd is watched.
  std::shared_ptr<h2_connection> self_;
};

}  // namespace s2s::actors
