// The yamux stream state machine and its window accounting.
#include "yamux/stream.hpp"

#include <algorithm>

namespace s2s::yamux {

const char* describe(stream_state state) {
  switch (state) {
    case stream_state::syn_sent:
      return "syn-sent";
    case stream_state::syn_received:
      return "syn-received";
    case stream_state::established:
      return "established";
    case stream_state::local_close:
      return "local-close";
    case stream_state::remote_close:
      return "remote-close";
    case stream_state::closed:
      return "closed";
    case stream_state::reset:
      return "reset";
  }
  return "?";
}

stream::stream(stream_id id, stream_state initial) : id_(id), state_(initial) {}

stream::flag_outcome stream::on_flags(std::uint16_t frame_flags) {
  flag_outcome outcome;
  if ((frame_flags & flags::ack) && state_ == stream_state::syn_sent) {
    state_ = stream_state::established;
    outcome.established = true;
  }
  if (frame_flags & flags::fin) {
    switch (state_) {
      case stream_state::syn_sent:
      case stream_state::syn_received:
      case stream_state::established:
        state_ = stream_state::remote_close;
        outcome.remote_closed = true;
        break;
      case stream_state::local_close:
        state_ = stream_state::closed;
        outcome.remote_closed = true;
        break;
      default:
        outcome.error = "peer sent FIN on stream " + std::to_string(id_) + " in state " + describe(state_);
        return outcome;
    }
  }
  if (frame_flags & flags::rst) {
    state_ = stream_state::reset;
    outcome.reset = true;
  }
  return outcome;
}

std::optional<std::string> stream::check_incoming_data(std::uint32_t length) const {
  if (length == 0)
    return std::nullopt;
  if (remote_done()) {
    return "peer sent " + std::to_string(length) + " bytes on stream " + std::to_string(id_) +
           " after closing it (state " + describe(state_) + ")";
  }
  if (length > receive_window_) {
    return "peer sent " + std::to_string(length) + " bytes on stream " + std::to_string(id_) +
           ", more than its window of " + std::to_string(receive_window_);
  }
  return std::nullopt;
}

void stream::on_data(std::span<const std::uint8_t> bytes) {
  // Compact before growing so the buffer stays near the window size.
  if (buffer_head_ > 0 && buffer_head_ >= buffer_.size() / 2) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(buffer_head_));
    buffer_head_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  receive_window_ -= static_cast<std::uint32_t>(bytes.size());
}

std::optional<std::string> stream::on_window_update(std::uint32_t delta) {
  if (std::uint64_t{send_window_} + delta > UINT32_MAX) {
    return "peer's window update of " + std::to_string(delta) + " on stream " + std::to_string(id_) +
           " takes the send window past 2^32-1 bytes";
  }
  send_window_ += delta;
  return std::nullopt;
}

std::uint16_t stream::take_open_flags() {
  if (state_ != stream_state::syn_received)
    return 0;
  state_ = stream_state::established;
  return flags::ack;
}

bool stream::can_send_data() const {
  return state_ == stream_state::syn_sent || state_ == stream_state::syn_received ||
         state_ == stream_state::established || state_ == stream_state::remote_close;
}

bool stream::close_local() {
  switch (state_) {
    case stream_state::syn_sent:
    case stream_state::syn_received:
    case stream_state::established:
      state_ = stream_state::local_close;
      return true;
    case stream_state::remote_close:
      state_ = stream_state::closed;
      return true;
    default:
      return false;
  }
}

std::optional<std::uint32_t> stream::take_window_update(std::uint32_t max_window, bool force) {
  // buffered() + receive_window_ never exceeds max_window, so the delta is never negative.
  const auto delta = static_cast<std::uint32_t>(max_window - buffered() - receive_window_);
  if (delta < max_window / 2 && !force)
    return std::nullopt;
  receive_window_ += delta;
  return delta;
}

std::span<const std::uint8_t> stream::readable() const {
  return std::span<const std::uint8_t>(buffer_).subspan(buffer_head_);
}

void stream::consume(std::size_t count) {
  buffer_head_ += std::min(count, buffered());
  if (buffer_head_ == buffer_.size()) {
    buffer_.clear();
    buffer_head_ = 0;
  }
}

bool stream::remote_done() const {
  return state_ == stream_state::remote_close || state_ == stream_state::closed || state_ == stream_state::reset;
}

bool stream::finished() const {
  return state_ == stream_state::reset || (state_ == stream_state::closed && buffered() == 0);
}

}  // namespace s2s::yamux
