// The echo and echo-check stream behaviours used by the conformance tests.
#include "stream_apps.hpp"

#include <algorithm>
#include <variant>
#include <vector>

namespace s2s::yamux::testing {

std::uint8_t pattern_byte(stream_id id, std::size_t offset) {
  return static_cast<std::uint8_t>(offset * 11 + id * 3 + (offset >> 12));
}

namespace {

// The stream id an event is about, or 0 for session-level events.
stream_id stream_of(const session_event& event) {
  return std::visit(
      [](const auto& e) -> stream_id {
        if constexpr (requires { e.id; }) {
          return e.id;
        } else {
          return 0;
        }
      },
      event);
}

}  // namespace

bool echo_streams::on_event(const session_event& event) {
  if (std::holds_alternative<stream_incoming>(event)) {
    if (const auto id = core_.accept_stream()) {
      serving_.insert(*id);
      ++accepted_;
      forward(*id);
    }
    return true;
  }
  const auto id = stream_of(event);
  if (!serving_.contains(id))
    return false;
  if (std::holds_alternative<stream_closed>(event) || std::holds_alternative<stream_reset>(event)) {
    serving_.erase(id);
    ++finished_;
    return true;
  }
  forward(id);
  return true;
}

void echo_streams::forward(stream_id id) {
  while (true) {
    const auto data = core_.readable(id);
    if (data.empty())
      break;
    const auto n = core_.write(id, data);
    if (n == 0)
      break;  // window shut: stream_writable brings us back
    core_.consume(id, n);
    echoed_ += n;
  }
  const auto* s = core_.find(id);
  if (s && s->state() == stream_state::remote_close && s->buffered() == 0)
    core_.close(id, clock::now());
}

bool echo_checks::open(clock::time_point now) {
  const auto opened = core_.open_stream(now);
  if (!opened) {
    if (error_.empty())
      error_ = "open failed: " + opened.error;
    return false;
  }
  streams_[opened.id] = {};
  push(opened.id);
  return true;
}

bool echo_checks::on_event(const session_event& event) {
  const auto id = stream_of(event);
  const auto it = streams_.find(id);
  if (it == streams_.end())
    return false;
  if (std::holds_alternative<stream_reset>(event) && error_.empty()) {
    error_ = "stream " + std::to_string(id) + " was reset";
  }
  if (std::holds_alternative<stream_closed>(event)) {
    if (it->second.received == size_) {
      ++completed_;
    } else if (error_.empty()) {
      error_ = "stream " + std::to_string(id) + " closed after " + std::to_string(it->second.received) + " of " +
               std::to_string(size_) + " bytes";
    }
    return true;
  }
  pull(id);
  push(id);
  return true;
}

void echo_checks::push(stream_id id) {
  auto& p = streams_[id];
  std::vector<std::uint8_t> chunk;
  while (p.sent < size_) {
    chunk.resize(std::min<std::size_t>(64 * 1024, size_ - p.sent));
    for (std::size_t i = 0; i < chunk.size(); ++i)
      chunk[i] = pattern_byte(id, p.sent + i);
    const auto n = core_.write(id, chunk);
    p.sent += n;
    if (n < chunk.size())
      return;  // window shut: stream_writable brings us back
  }
  if (!p.closed)
    p.closed = core_.close(id, clock::now());
}

void echo_checks::pull(stream_id id) {
  auto& p = streams_[id];
  const auto data = core_.readable(id);
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (data[i] != pattern_byte(id, p.received + i)) {
      if (error_.empty())
        error_ = "stream " + std::to_string(id) + " echoed a wrong byte at " + std::to_string(p.received + i);
      break;
    }
  }
  p.received += data.size();
  core_.consume(id, data.size());
}

}  // namespace s2s::yamux::testing
