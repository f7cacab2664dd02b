// Test helpers: what our side does with yamux streams in the conformance tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "yamux/session.hpp"

namespace s2s::yamux::testing {

// Accepts every stream the peer opens and sends everything back; half-closes a stream once
// the peer half-closed it and all its data went back. Data waits in the session's receive
// buffer while the send window is shut, so the peer is slowed by our window, not our memory.
class echo_streams {
 public:
  explicit echo_streams(session& core) : core_(core) {}
  // Returns true when the event was about a stream this app serves.
  bool on_event(const session_event& event);
  std::size_t accepted() const { return accepted_; }
  std::size_t finished() const { return finished_; }
  std::uint64_t bytes_echoed() const { return echoed_; }

 private:
  void forward(stream_id id);

  session& core_;
  std::set<stream_id> serving_;
  std::size_t accepted_ = 0;
  std::size_t finished_ = 0;
  std::uint64_t echoed_ = 0;
};

// Streams we open: each sends `size` bytes of a per-stream pattern, half-closes, and checks
// that the same bytes come back before the peer's half-close.
class echo_checks {
 public:
  echo_checks(session& core, std::size_t size) : core_(core), size_(size) {}
  // Opens a stream; false (with the reason in `error`) when the session refuses.
  bool open(clock::time_point now);
  bool on_event(const session_event& event);
  std::size_t opened() const { return streams_.size(); }
  std::size_t completed() const { return completed_; }
  // Empty while everything is fine; else what went wrong first.
  const std::string& error() const { return error_; }

 private:
  struct progress {
    std::size_t sent = 0;
    std::size_t received = 0;
    bool closed = false;
  };
  void push(stream_id id);
  void pull(stream_id id);

  session& core_;
  std::size_t size_;
  std::map<stream_id, progress> streams_;
  std::size_t completed_ = 0;
  std::string error_;
};

std::uint8_t pattern_byte(stream_id id, std::size_t offset);

}  // namespace s2s::yamux::testing
