// Graceful GOAWAY: two steps on the server, streams below the last id finish, new ones are refused.
#include <gtest/gtest.h>

#include "echo_link.hpp"

namespace s2s::http2::testing {
namespace {

TEST(GoAway, ServerShutdownIsTwoStepAndAStreamInFlightIsStillServed) {
  echo_link link;
  const auto first = link.echo_client.start("Bidi", {request("a")}, false);
  ASSERT_TRUE(link.pump());
  link.server.shutdown();
  // The client opens a stream before it has seen the first GOAWAY: the race the two steps are for.
  const auto racing = link.echo_client.start("Bidi", {request("b")}, false);
  ASSERT_EQ(racing, 3);
  ASSERT_TRUE(link.pump());

  const auto go_aways = all_of<go_away_received>(link.client_events);
  ASSERT_EQ(go_aways.size(), 2u);
  EXPECT_EQ(go_aways[0].last_stream_id, 0x7fffffff) << "first: open no more";
  EXPECT_EQ(go_aways[0].code, error_code::no_error);
  EXPECT_EQ(go_aways[1].last_stream_id, racing) << "then the real last stream id";
  EXPECT_EQ(go_aways[1].code, error_code::no_error);

  const auto refused = link.client.open_stream(request_headers({}, std::nullopt), true);
  EXPECT_FALSE(refused);
  EXPECT_EQ(refused.error, "the peer sent GOAWAY: no new streams on this connection");

  // Both streams below the last id finish normally.
  link.echo_client.send(first, request("a2"), true);
  link.echo_client.send(racing, request("b2"), true);
  ASSERT_TRUE(link.pump());
  for (const auto id : {first, racing}) {
    const auto& out = link.echo_client.outcome(id);
    ASSERT_TRUE(out.result) << id;
    EXPECT_TRUE(out.result->ok()) << out.result->message;
    EXPECT_EQ(out.responses.size(), 2u);
  }
  EXPECT_TRUE(link.server.finished());
  EXPECT_TRUE(link.client.finished());
  EXPECT_FALSE(link.server.ended()) << "a graceful shutdown is not an error";
}

TEST(GoAway, ASecondGoAwayNeverNamesALargerLastStreamId) {
  echo_link link;
  const auto kept = link.echo_client.start("Bidi", {request("a")}, false);
  ASSERT_TRUE(link.pump());
  link.server.go_away(error_code::no_error);
  // A stream the client opens before it has read the GOAWAY, then a second GOAWAY (a drain
  // after an earlier notice, say): its last stream id must stay `kept`.
  link.echo_client.start("Unary", {request("late")});
  ASSERT_TRUE(link.pump());
  link.server.go_away(error_code::no_error);
  ASSERT_TRUE(link.pump());
  EXPECT_TRUE(all_of<connection_error>(link.client_events).empty());
  EXPECT_FALSE(link.client.ended());
  for (const auto& g : all_of<go_away_received>(link.client_events))
    EXPECT_EQ(g.last_stream_id, kept);
  link.echo_client.send(kept, request("a2"), true);
  ASSERT_TRUE(link.pump());
  EXPECT_TRUE(link.echo_client.outcome(kept).result->ok());
}

TEST(GoAway, StreamsAboveTheLastIdAreRefusedAndMayBeRetried) {
  echo_link link;
  const auto kept = link.echo_client.start("Bidi", {request("a")}, false);
  ASSERT_TRUE(link.pump());
  link.server.go_away(error_code::no_error);  // one step: last stream id is `kept`
  const auto late = link.echo_client.start("Unary", {request("late")});
  ASSERT_TRUE(link.pump());
  const auto& out = link.echo_client.outcome(late);
  ASSERT_TRUE(out.reset);
  EXPECT_EQ(out.reset->code, error_code::refused_stream);
  EXPECT_EQ(out.result->code, status_code::unavailable);
  EXPECT_EQ(link.echo_server.requests.size(), 1u) << "the server never processed the late stream";

  link.echo_client.send(kept, request("a2"), true);
  ASSERT_TRUE(link.pump());
  EXPECT_TRUE(link.echo_client.outcome(kept).result->ok());
}

TEST(GoAway, GoAwayWithAnErrorEndsTheConnectionAndCarriesDebugData) {
  memory_link link;
  link.server.go_away(error_code::enhance_your_calm, "too many pings");
  EXPECT_TRUE(link.server.ended());
  ASSERT_TRUE(link.pump());
  const auto go_aways = all_of<go_away_received>(link.client_events);
  ASSERT_EQ(go_aways.size(), 1u);
  EXPECT_EQ(go_aways[0].code, error_code::enhance_your_calm);
  EXPECT_EQ(go_aways[0].debug_data, "too many pings");
  EXPECT_TRUE(all_of<connection_error>(link.server_events).empty()) << "we asked for it: no error event";
}

TEST(GoAway, ClientShutdownSendsOneGoAway) {
  echo_link link;
  const auto id = link.echo_client.start("Unary", {request("a")});
  ASSERT_TRUE(link.pump());
  link.client.shutdown();
  ASSERT_TRUE(link.pump());
  EXPECT_EQ(all_of<go_away_received>(link.server_events).size(), 1u);
  EXPECT_TRUE(link.echo_client.outcome(id).result->ok());
  EXPECT_TRUE(link.client.finished());
}

TEST(GoAway, ClientShutdownRightAfterOpeningStillCarriesTheCall) {
  echo_link link;
  // Before anything is framed: the request must not fall behind the GOAWAY.
  const auto id = link.echo_client.start("Unary", {request("a")});
  link.client.shutdown();
  ASSERT_TRUE(link.pump());
  EXPECT_TRUE(all_of<connection_error>(link.client_events).empty());
  ASSERT_TRUE(link.echo_client.outcome(id).result);
  EXPECT_TRUE(link.echo_client.outcome(id).result->ok()) << link.echo_client.outcome(id).result->message;
  EXPECT_FALSE(link.client.open_stream(request_headers({.authority = "x", .path = "/a/b"}, std::nullopt), true))
      << "no new streams after our own shutdown";
}

TEST(GoAway, ClientShutdownDoesNotMakeItDropTheServersFirstBytes) {
  echo_link link;
  const auto id = link.echo_client.start("Unary", {request("a")});
  link.client.shutdown();
  // The server's SETTINGS arrive before the client has framed anything of its own.
  const auto first = link.server.pending_output();
  const std::vector<std::uint8_t> settings_bytes(first.begin(), first.end());
  link.client.receive(settings_bytes);
  link.server.consume_output(first.size());
  ASSERT_TRUE(link.pump());
  EXPECT_TRUE(all_of<connection_error>(link.client_events).empty());
  ASSERT_TRUE(link.echo_client.outcome(id).result);
  EXPECT_TRUE(link.echo_client.outcome(id).result->ok()) << link.echo_client.outcome(id).result->message;
  EXPECT_EQ(all_of<go_away_received>(link.server_events).size(), 1u) << "the GOAWAY went out after the request";
}

TEST(GoAway, IdleServerShutdownStillServesAStreamInFlight) {
  echo_link link;
  ASSERT_TRUE(link.pump());  // the connection is up, no stream open
  link.server.shutdown();
  const auto racing = link.echo_client.start("Unary", {request("b")});
  ASSERT_TRUE(link.pump());
  const auto& out = link.echo_client.outcome(racing);
  ASSERT_TRUE(out.result) << "the call neither finished nor was refused";
  EXPECT_TRUE(out.result->ok()) << out.result->message;
  // The client stops reading once it has a GOAWAY and no stream left (nghttp2 does), so only
  // the server's state says the shutdown completed.
  EXPECT_TRUE(link.server.finished());
  EXPECT_FALSE(link.server.ended());
}

}  // namespace
}  // namespace s2s::http2::testing
