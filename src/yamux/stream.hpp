// One yamux stream: its state machine, its two windows, and the data received but not yet read.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "yamux/frame.hpp"

namespace s2s::yamux {

using clock = std::chrono::steady_clock;

// There is no "init" state: opening a stream sends its SYN at once, so a stream we open
// starts in syn_sent and one the peer opens starts in syn_received.
enum class stream_state {
  syn_sent,      // we opened it; the peer has not acknowledged yet (we may already send)
  syn_received,  // the peer opened it; our ACK goes out on the first frame we send
  established,
  local_close,   // we sent FIN; the peer may still send
  remote_close,  // the peer sent FIN; we may still send
  closed,        // both sent FIN
  reset,         // either side sent RST
};

const char* describe(stream_state state);

class stream {
 public:
  stream(stream_id id, stream_state initial);

  stream_id id() const { return id_; }
  stream_state state() const { return state_; }

  // --- what the peer sends

  // What a frame's flags did to the stream, or the protocol error they are.
  struct flag_outcome {
    bool established = false;    // our SYN was acknowledged
    bool remote_closed = false;  // the peer half-closed (FIN)
    bool reset = false;          // the peer reset (RST)
    std::optional<std::string> error;
  };
  flag_outcome on_flags(std::uint16_t frame_flags);

  // Checked before a data frame's flags apply: data after the peer's FIN, or beyond the window we granted.
  std::optional<std::string> check_incoming_data(std::uint32_t length) const;
  void on_data(std::span<const std::uint8_t> bytes);
  // Adds a window update's delta to our send window; more than 2^32-1 bytes of credit is an error.
  std::optional<std::string> on_window_update(std::uint32_t delta);

  // --- what we send

  // ACK if our acknowledgement of the peer's SYN has not gone out yet, else 0.
  std::uint16_t take_open_flags();
  bool can_send_data() const;
  std::uint32_t send_window() const { return send_window_; }
  void on_data_sent(std::uint32_t length) { send_window_ -= length; }
  // Half-closes our side. False when there is nothing to close (already closed or reset).
  bool close_local();
  void mark_reset() { state_ = stream_state::reset; }

  // The window update to send now, or nothing when it is small enough to wait. Like hashicorp/yamux:
  // grant back what was read once it reaches half the window, or at once when `force`
  // (the frame carries SYN, ACK or FIN anyway). The first update also grows the window to max_window.
  std::optional<std::uint32_t> take_window_update(std::uint32_t max_window, bool force);

  // --- the application's side of the received data

  std::span<const std::uint8_t> readable() const;
  void consume(std::size_t count);
  std::size_t buffered() const { return buffer_.size() - buffer_head_; }
  // The peer will send no more data (FIN or RST received).
  bool remote_done() const;
  // Nothing left to do on this stream: reset, or closed both ways with everything read.
  bool finished() const;

  // --- timers kept by the session

  bool awaiting_ack = false;
  std::optional<clock::time_point> open_deadline;
  std::optional<clock::time_point> close_deadline;

 private:
  stream_id id_;
  stream_state state_;
  std::uint32_t send_window_ = initial_stream_window;
  std::uint32_t receive_window_ = initial_stream_window;
  std::vector<std::uint8_t> buffer_;
  std::size_t buffer_head_ = 0;
};

}  // namespace s2s::yamux
