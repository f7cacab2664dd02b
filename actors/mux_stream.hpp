// The stream role: one yamux stream bridged to grpc++ through a connected socket pair. grpc++
// owns one end (as a channel or a server connection); the mux I/O thread moves bytes through
// the other.
#pragma once

#include <poll.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "yamux/session.hpp"

namespace s2s::actors {

// What became of a stream after moving its bytes.
enum class bridge_outcome {
  open,   // keep going
  reset,  // grpc++'s end broke: reset the yamux stream and drop the bridge
};

class stream_bridge {
 public:
  // Makes the socket pair; false with the reason when the system refuses.
  static bool create(yamux::stream_id id, stream_bridge& out, int& grpc_end, std::string& problem);

  stream_bridge() = default;
  stream_bridge(stream_bridge&& other) noexcept;
  stream_bridge& operator=(stream_bridge&& other) noexcept;
  stream_bridge(const stream_bridge&) = delete;
  stream_bridge& operator=(const stream_bridge&) = delete;
  ~stream_bridge();

  yamux::stream_id id() const { return id_; }
  int fd() const { return fd_; }

  // The poll events this bridge waits for. `may_take_input`: the session has room for more
  // output (the transport keeps up), so reading from grpc++ is welcome.
  short wanted_events(const yamux::session& session, bool may_take_input) const;

  // Moves bytes both ways as far as they go: yamux -> grpc++ and grpc++ -> yamux, then passes
  // a half-close on in either direction once the data before it has moved. `scratch` is a
  // buffer to read into, shared by the bridges of a session.
  bridge_outcome pump(yamux::session& session, yamux::clock::time_point now, std::span<std::uint8_t> scratch);

  // What the last poll said of the fd: it is read only when it was readable, so an idle
  // bridge costs no read per turn of the session's loop.
  void polled(short revents) { readable_ = (revents & (POLLIN | POLLHUP | POLLERR)) != 0; }

  // The peer half-closed the yamux stream.
  void remote_closed() { remote_closed_ = true; }

  std::size_t buffered_bytes() const { return unsent_.size() - unsent_head_; }

 private:
  bool deliver(yamux::session& session);  // yamux -> fd; false when the fd broke
  bool take(yamux::session& session, yamux::clock::time_point now,
            std::span<std::uint8_t> scratch);  // fd -> yamux

  yamux::stream_id id_ = 0;
  int fd_ = -1;
  std::vector<std::uint8_t> unsent_;  // read from grpc++, not yet taken by the stream's window
  std::size_t unsent_head_ = 0;
  bool grpc_eof_ = false;  // grpc++ shut its writing side
  bool fin_sent_ = false;  // FIN passed on to the peer
  bool remote_closed_ = false;
  bool shut_down_write_ = false;  // EOF passed on to grpc++
  bool readable_ = true;          // grpc++ may have written: a new bridge is read once before any poll
};

}  // namespace s2s::actors
