// Two HTTP/2 cores, client and server, connected back to back in memory.
#pragma once

#include <functional>
#include <vector>

#include "http2/connection.hpp"

namespace s2s::http2::testing {

struct memory_link {
  explicit memory_link(const settings& client_settings = {}, const settings& server_settings = {})
      : client(role::client, client_settings), server(role::server, server_settings) {}

  connection client;
  connection server;
  // Every event each side produced, in order; a handler set below also sees each one as it comes.
  std::vector<event> client_events;
  std::vector<event> server_events;
  std::function<void(const event&)> on_client;
  std::function<void(const event&)> on_server;
  // Off for tests that move large data, so the logs do not hold a copy of it.
  bool log_events = true;
  // What each side was given to receive(): its DATA events view it. While events are logged, all
  // of it, so the logged events stay valid; otherwise the last input only.
  std::vector<std::vector<std::uint8_t>> inputs;

  // Moves bytes both ways and hands out events until both sides are quiet (or max_rounds pass,
  // for tests that interleave a slow consumer). Returns true when quiet.
  bool pump(int max_rounds = 1'000'000);
};

// The events of type T in `events`, copied, optionally only those of one stream.
template <typename T>
std::vector<T> all_of(const std::vector<event>& events) {
  std::vector<T> out;
  for (const auto& e : events) {
    if (const auto* t = std::get_if<T>(&e))
      out.push_back(*t);
  }
  return out;
}

}  // namespace s2s::http2::testing
