// Peers that break HTTP/2 on purpose, in hand-written bytes: the core answers with GOAWAY or
// RST_STREAM, names the reason, and (for stream errors) serves on.
#include <gtest/gtest.h>

#include <string>

#include "http2/connection.hpp"
#include "raw_frames.hpp"

namespace s2s::http2::testing {
namespace {

struct server_under_attack {
  explicit server_under_attack(const settings& cfg = {}) : server(role::server, cfg) {}
  connection server;
  std::vector<event> events;

  // Feeds `wire`, collects events and returns the frames the server wrote back.
  std::vector<raw_frame> feed(const bytes& wire) {
    server.receive(wire);
    while (auto e = server.poll_event())
      events.push_back(*e);
    const auto out = server.pending_output();
    auto frames = parse_frames(out);
    server.consume_output(out.size());
    while (auto e = server.poll_event())
      events.push_back(*e);
    return frames;
  }
  template <typename T>
  std::vector<T> all() const {
    std::vector<T> out;
    for (const auto& e : events) {
      if (const auto* t = std::get_if<T>(&e))
        out.push_back(*t);
    }
    return out;
  }
};

const raw_frame* find_frame(const std::vector<raw_frame>& frames, std::uint8_t type) {
  for (const auto& f : frames) {
    if (f.type == type)
      return &f;
  }
  return nullptr;
}

std::string debug_of(const raw_frame& go_away) { return {go_away.payload.begin() + 8, go_away.payload.end()}; }

bytes operator+(bytes a, const bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(MalformedPeer, ExceedingTheConnectionWindowIsAConnectionError) {
  settings cfg;
  cfg.connection_window = 65535;
  server_under_attack s(cfg);
  bytes wire = client_start() + post_headers(1, false);
  for (int i = 0; i < 5; ++i)
    wire = wire + frame(data_frame, 0, 1, bytes(16384, 0));  // 80 KiB into 64 KiB
  const auto frames = s.feed(wire);
  const auto* go_away = find_frame(frames, goaway_frame);
  ASSERT_TRUE(go_away);
  EXPECT_EQ(go_away->u32(4), error_code::flow_control_error);
  const auto errors = s.all<connection_error>();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code, error_code::flow_control_error);
  EXPECT_EQ(errors[0].reason, "FLOW_CONTROL_ERROR: the peer sent DATA beyond the flow-control window");
  EXPECT_TRUE(s.server.ended());
}

TEST(MalformedPeer, ExceedingAStreamWindowResetsOnlyThatStream) {
  server_under_attack s;  // 1 MiB per stream, 16 MiB for the connection
  // The client has not acknowledged our SETTINGS, so the peer's limit is still the default 65535.
  bytes wire = client_start() + frame(settings_frame, ack_flag, 0, {}) + post_headers(1, false);
  for (int i = 0; i < 70; ++i)
    wire = wire + frame(data_frame, 0, 1, bytes(16384, 0));  // 1.1 MiB into 1 MiB
  const auto frames = s.feed(wire);
  const auto* rst = find_frame(frames, rst_stream_frame);
  ASSERT_TRUE(rst);
  EXPECT_EQ(rst->stream, 1u);
  EXPECT_EQ(rst->u32(0), error_code::flow_control_error);
  EXPECT_FALSE(find_frame(frames, goaway_frame));
  EXPECT_FALSE(s.server.ended());

  // The connection serves on: a new stream's request arrives.
  s.events.clear();
  s.feed(post_headers(3, true));
  const auto requests = s.all<headers_received>();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].id, 3);
}

TEST(MalformedPeer, UndecodableHeaderBlockIsACompressionError) {
  server_under_attack s;
  const auto frames =
      s.feed(client_start() + frame(headers_frame, end_headers_flag, 1, {0xff, 0xff, 0xff, 0xff, 0xff}));
  const auto* go_away = find_frame(frames, goaway_frame);
  ASSERT_TRUE(go_away);
  EXPECT_EQ(go_away->u32(4), error_code::compression_error);
  const auto errors = s.all<connection_error>();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code, error_code::compression_error);
  EXPECT_TRUE(errors[0].reason.starts_with("COMPRESSION_ERROR: ")) << errors[0].reason;
  EXPECT_GT(errors[0].reason.size(), std::string("COMPRESSION_ERROR: ").size());
  EXPECT_TRUE(s.all<headers_received>().empty());
}

TEST(MalformedPeer, HeadersOnAnEvenStreamFromAClientIsAProtocolError) {
  server_under_attack s;
  const auto frames = s.feed(client_start() + post_headers(2, true));
  const auto* go_away = find_frame(frames, goaway_frame);
  ASSERT_TRUE(go_away);
  EXPECT_EQ(go_away->u32(4), error_code::protocol_error);
  const auto errors = s.all<connection_error>();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].reason, "PROTOCOL_ERROR: " + debug_of(*go_away));
}

TEST(MalformedPeer, HeadersWithoutPseudoHeadersResetTheStreamAndServeOn) {
  server_under_attack s;
  // Only a regular field ("content-type: x" as a literal with a literal name): no :method, no :path.
  const bytes block = {0x00, 0x0c, 'c', 'o', 'n', 't', 'e', 'n', 't', '-', 't', 'y', 'p', 'e', 0x01, 'x'};
  const auto frames = s.feed(client_start() + frame(headers_frame, end_headers_flag | end_stream_flag, 1, block));
  const auto* rst = find_frame(frames, rst_stream_frame);
  ASSERT_TRUE(rst);
  EXPECT_EQ(rst->u32(0), error_code::protocol_error);
  EXPECT_TRUE(s.all<headers_received>().empty()) << "a malformed request never reaches the owner";
  EXPECT_TRUE(s.all<stream_reset>().empty()) << "nor does the end of a stream it never saw";
  s.events.clear();
  s.feed(post_headers(3, true));
  EXPECT_EQ(s.all<headers_received>().size(), 1u);
}

TEST(MalformedPeer, NotHttp2AtAllEndsTheConnectionWithAReason) {
  server_under_attack s;
  const std::string http1 = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  s.feed(bytes(http1.begin(), http1.end()));
  const auto errors = s.all<connection_error>();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].reason, "PROTOCOL_ERROR: the peer did not send the HTTP/2 client preface");
  EXPECT_TRUE(s.server.ended());
  EXPECT_TRUE(s.server.finished());
}

TEST(MalformedPeer, AnOversizedHeaderBlockResetsItsStream) {
  settings cfg;
  cfg.max_header_list_size = 1024;
  server_under_attack s(cfg);
  // :method POST, :scheme http, :path /, then "x-big" with a 2000-byte literal value.
  bytes block = {0x83, 0x86, 0x84, 0x00, 0x05, 'x', '-', 'b', 'i', 'g', 0x7f, 0xd1, 0x0e};  // 127 + 1873 = 2000
  block.insert(block.end(), 2000, 'v');
  const auto frames = s.feed(client_start() + frame(headers_frame, end_headers_flag | end_stream_flag, 1, block));
  const auto* rst = find_frame(frames, rst_stream_frame);
  ASSERT_TRUE(rst);
  EXPECT_EQ(rst->stream, 1u);
  EXPECT_TRUE(s.all<headers_received>().empty());
  EXPECT_FALSE(s.server.ended());
}

}  // namespace
}  // namespace s2s::http2::testing
