// Test helpers: two sessions wired back to back in memory, and raw frames to feed one session.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "yamux/session.hpp"

namespace s2s::yamux::testing {

using bytes = std::vector<std::uint8_t>;

inline bytes frame(frame_type type, std::uint16_t frame_flags, stream_id id, std::uint32_t length,
                   const bytes& payload = {}) {
  bytes out;
  append_frame(out, make_header(type, frame_flags, id, length), payload);
  return out;
}

inline bytes data_frame(std::uint16_t frame_flags, stream_id id, const std::string& text) {
  return frame(frame_type::data, frame_flags, id, static_cast<std::uint32_t>(text.size()),
               bytes(text.begin(), text.end()));
}

inline bytes take_output(session& s) {
  const auto pending = s.pending_output();
  bytes out(pending.begin(), pending.end());
  s.consume_output(out.size());
  return out;
}

inline std::vector<session_event> drain_events(session& s) {
  std::vector<session_event> out;
  while (auto e = s.poll_event())
    out.push_back(std::move(*e));
  return out;
}

template <typename Event>
std::vector<Event> only(const std::vector<session_event>& events) {
  std::vector<Event> out;
  for (const auto& e : events) {
    if (const auto* match = std::get_if<Event>(&e))
      out.push_back(*match);
  }
  return out;
}

inline std::string text_of(std::span<const std::uint8_t> span) { return std::string(span.begin(), span.end()); }

// A client and a server session whose outputs feed each other; events are collected per side.
struct session_link {
  explicit session_link(const config& client_config = {}, const config& server_config = {})
      : client(role::client, client_config, now), server(role::server, server_config, now) {}

  // Moves bytes both ways until neither side has output left.
  void pump() {
    for (int round = 0; round < 10000; ++round) {
      const auto to_server = take_output(client);
      const auto to_client = take_output(server);
      if (to_server.empty() && to_client.empty())
        break;
      server.receive(to_server, now);
      client.receive(to_client, now);
      collect();
    }
    collect();
  }

  void collect() {
    for (auto& e : drain_events(client))
      client_events.push_back(std::move(e));
    for (auto& e : drain_events(server))
      server_events.push_back(std::move(e));
  }

  void tick_both() {
    client.tick(now);
    server.tick(now);
    collect();
  }

  // Opens a stream from the client and has the server accept it.
  stream_id open_accepted() {
    const auto opened = client.open_stream(now);
    EXPECT_TRUE(opened) << opened.error;
    pump();
    const auto accepted = server.accept_stream();
    EXPECT_EQ(accepted, opened.id);
    pump();
    return opened.id;
  }

  void write_all(session& from, stream_id id, const std::string& text) {
    const bytes payload(text.begin(), text.end());
    EXPECT_EQ(from.write(id, payload), payload.size());
    pump();
  }

  std::string read_all(session& at, stream_id id) {
    std::string out = text_of(at.readable(id));
    at.consume(id, out.size());
    pump();
    return out;
  }

  clock::time_point now{std::chrono::hours(1)};
  session client;
  session server;
  std::vector<session_event> client_events;
  std::vector<session_event> server_events;
};

}  // namespace s2s::yamux::testing
