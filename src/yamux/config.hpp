// Tuning of a yamux session, its defaults, and the check that a tuning makes sense.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace s2s::yamux {

struct config {
  // Streams the peer may open that the owner has not yet accepted; one more is reset.
  // Also the number of our own opens that may await the peer's acknowledgement.
  std::uint32_t accept_backlog = 256;

  // Ping the peer every keepalive_interval; no reply within connection_write_timeout ends the session.
  bool enable_keepalive = true;
  std::chrono::milliseconds keepalive_interval = std::chrono::seconds(30);

  // How long queued output may sit without the transport taking any of it, and how long a
  // ping may wait for its reply, before the connection is judged dead.
  std::chrono::milliseconds connection_write_timeout = std::chrono::seconds(10);

  // The receive window we grant each stream; at least the protocol's initial 256 KiB.
  std::uint32_t max_stream_window = 256 * 1024;

  // A stream we opened that the peer has not acknowledged in this time ends the session
  // (the peer is not answering). Zero disables.
  std::chrono::milliseconds stream_open_timeout = std::chrono::seconds(75);

  // A stream we half-closed that the peer does not close in this time is reset. Zero disables.
  std::chrono::milliseconds stream_close_timeout = std::chrono::minutes(5);
};

// Why the config cannot be used, or nothing when it can.
std::optional<std::string> verify(const config& cfg);

}  // namespace s2s::yamux
