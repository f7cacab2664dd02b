// 128 MiB messages both ways with a receiver that consumes slowly: the windows bound what is held.
#include <gtest/gtest.h>

#include <deque>

#include "http2/grpc_headers.hpp"
#include "http2/grpc_message.hpp"
#include "memory_link.hpp"

namespace s2s::http2::testing {
namespace {

constexpr std::size_t message_bytes = default_max_message_bytes;
constexpr std::size_t chunk = 1 << 20;         // what the sender queues at a time
constexpr std::size_t read_budget = 64 << 10;  // what the slow receiver takes per round

std::vector<std::uint8_t> pattern(std::size_t size) {
  std::vector<std::uint8_t> v(size);
  for (std::size_t i = 0; i < size; ++i)
    v[i] = static_cast<std::uint8_t>(i % 251);
  return v;
}

// Holds what arrived without taking it, and takes a little per round.
struct slow_reader {
  std::deque<std::uint8_t> held;
  std::size_t max_held = 0;
  message_reader reader;
  bool ended = false;

  void on_event(const event& e, stream_id id) {
    if (const auto* d = std::get_if<data_received>(&e); d && d->id == id) {
      held.insert(held.end(), d->bytes.begin(), d->bytes.end());
      max_held = std::max(max_held, held.size());
      ended |= d->end_stream;
    }
  }
  void take_some(connection& c, stream_id id) {
    const std::size_t n = std::min(read_budget, held.size());
    const std::vector<std::uint8_t> bytes(held.begin(), held.begin() + static_cast<std::ptrdiff_t>(n));
    held.erase(held.begin(), held.begin() + static_cast<std::ptrdiff_t>(n));
    ASSERT_FALSE(reader.feed(bytes));
    c.consume(id, n);
  }
};

// Queues the framed message a chunk at a time, only when the previous chunk has been framed.
struct chunked_sender {
  std::vector<std::uint8_t> wire;
  std::size_t sent = 0;
  std::size_t max_queued = 0;

  explicit chunked_sender(const std::vector<std::uint8_t>& payload) { append_message(wire, 0, payload); }
  void feed(connection& c, stream_id id) {
    max_queued = std::max(max_queued, c.queued(id));
    if (sent == wire.size() || c.queued(id) != 0)
      return;
    const std::size_t n = std::min(chunk, wire.size() - sent);
    ASSERT_TRUE(c.send_data(id, {wire.data() + sent, n}, false));
    sent += n;
  }
  bool done() const { return sent == wire.size(); }
};

// Moves one framed message from one side to the other, the receiver taking read_budget per round;
// checks on every round that what the receiver holds stays within its stream window.
void move_message(memory_link& link, bool to_server, stream_id id, const std::vector<std::uint8_t>& payload,
                  std::uint32_t window, grpc_message& got, chunked_sender& sender, slow_reader& receiver) {
  connection& from = to_server ? link.client : link.server;
  connection& to = to_server ? link.server : link.client;
  auto& handler = to_server ? link.on_server : link.on_client;
  handler = [&](const event& e) { receiver.on_event(e, id); };
  std::optional<grpc_message> message;
  for (int round = 0; !message; ++round) {
    ASSERT_LT(round, 100000) << "no progress after " << receiver.reader.partial_bytes() << " bytes";
    sender.feed(from, id);
    link.pump(1);
    ASSERT_LE(receiver.held.size(), window) << "the peer sent past the window";
    receiver.take_some(to, id);
    message = receiver.reader.next();
  }
  handler = nullptr;
  got = std::move(*message);
}

TEST(FlowControl, A128MiBMessageEachWayIsBoundedByTheWindowsOfASlowReceiver) {
  settings small;
  small.stream_window = 1 << 20;
  small.connection_window = 2 << 20;
  memory_link link(small, small);
  link.log_events = false;
  const auto payload = pattern(message_bytes);

  request_head head;
  head.authority = "x";
  head.path = "/s2s.testing.v1.EchoService/Unary";
  const auto opened = link.client.open_stream(request_headers(head, std::nullopt), false);
  ASSERT_TRUE(opened);
  const auto id = opened.id;

  grpc_message got;
  chunked_sender request(payload);
  slow_reader server_side;
  move_message(link, true, id, payload, small.stream_window, got, request, server_side);
  ASSERT_EQ(got.payload.size(), message_bytes);
  EXPECT_TRUE(got.payload == payload);
  EXPECT_LE(request.max_queued, chunk) << "the sender never queued more than one chunk";
  EXPECT_GT(server_side.max_held, 0u);
  EXPECT_EQ(link.server.unconsumed(), 0u);
  link.client.send_data(id, {}, true);

  ASSERT_TRUE(link.server.respond(id, response_headers(), false));
  chunked_sender response(payload);
  slow_reader client_side;
  move_message(link, false, id, payload, small.stream_window, got, response, client_side);
  ASSERT_EQ(got.payload.size(), message_bytes);
  EXPECT_TRUE(got.payload == payload);
  EXPECT_LE(response.max_queued, chunk);
  EXPECT_EQ(link.client.unconsumed(), 0u);

  ASSERT_TRUE(link.server.send_trailers(id, trailers({})));
  link.log_events = true;
  ASSERT_TRUE(link.pump());
  const auto closing = all_of<headers_received>(link.client_events);
  ASSERT_EQ(closing.size(), 1u);
  EXPECT_EQ(closing[0].kind, header_kind::trailers);
  EXPECT_TRUE(status_of(closing[0].headers).ok());
  EXPECT_EQ(link.client.stream_count(), 0u);
}

TEST(FlowControl, WithoutConsumeThePeerStopsAtTheWindow) {
  settings small;
  small.stream_window = 64 << 10;
  small.connection_window = 64 << 10;
  memory_link link({}, small);
  request_head head;
  head.authority = "x";
  head.path = "/x/y";
  const auto id = link.client.open_stream(request_headers(head, std::nullopt), false).id;
  const std::vector<std::uint8_t> lots(1 << 20, 1);
  link.client.send_data(id, lots);
  ASSERT_TRUE(link.pump());
  EXPECT_EQ(link.server.unconsumed(), small.stream_window) << "exactly one window arrived";
  EXPECT_EQ(link.client.queued(id), lots.size() - small.stream_window);
  EXPECT_EQ(link.client.send_window(id), 0);
  // Consuming half a window lets the rest of the credit flow back.
  link.server.consume(id, 32 << 10);
  ASSERT_TRUE(link.pump());
  EXPECT_EQ(link.server.unconsumed(), small.stream_window);
  EXPECT_EQ(link.client.queued(id), lots.size() - small.stream_window - (32 << 10));
}

}  // namespace
}  // namespace s2s::http2::testing
