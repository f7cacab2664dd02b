// Two cores back to back: every gRPC call shape, trailers-only errors, deadlines, metadata and resets.
#include <gtest/gtest.h>

#include "echo_link.hpp"
#include "http2/grpc_timeout.hpp"

namespace s2s::http2::testing {
namespace {

using namespace std::chrono_literals;

TEST(CallShapes, Unary) {
  echo_link link;
  const auto id = link.echo_client.start("Unary", {request("ping")});
  ASSERT_EQ(id, 1);
  ASSERT_TRUE(link.pump());
  const auto& out = link.echo_client.outcome(id);
  ASSERT_TRUE(out.result);
  EXPECT_TRUE(out.result->ok()) << out.result->message;
  ASSERT_EQ(out.responses.size(), 1u);
  EXPECT_EQ(out.responses[0].payload(), "ping");
  EXPECT_EQ(find_header(out.response_headers, ":status"), "200");
  EXPECT_EQ(link.client.stream_count(), 0u);
  EXPECT_EQ(link.server.stream_count(), 0u);
  EXPECT_EQ(all_of<stream_closed>(link.client_events).size(), 1u);
}

TEST(CallShapes, ClientStreaming) {
  echo_link link;
  const auto id = link.echo_client.start("ClientStream", {request("a"), request("b"), request("c")}, false);
  ASSERT_TRUE(link.pump());
  EXPECT_FALSE(link.echo_client.done(id)) << "the server waits for the half-close";
  link.echo_client.send(id, request("d"), true);
  ASSERT_TRUE(link.pump());
  const auto& out = link.echo_client.outcome(id);
  ASSERT_TRUE(out.result && out.result->ok());
  ASSERT_EQ(out.responses.size(), 1u);
  EXPECT_EQ(out.responses[0].payload(), "abcd");
  EXPECT_EQ(out.responses[0].requests_received(), 4u);
}

TEST(CallShapes, ServerStreaming) {
  echo_link link;
  auto r = request("tick");
  r.set_stream_count(5);
  const auto id = link.echo_client.start("ServerStream", {r});
  ASSERT_TRUE(link.pump());
  const auto& out = link.echo_client.outcome(id);
  ASSERT_TRUE(out.result && out.result->ok());
  ASSERT_EQ(out.responses.size(), 5u);
  for (std::uint32_t i = 0; i < 5; ++i)
    EXPECT_EQ(out.responses[i].sequence(), i);
}

TEST(CallShapes, BidiStreamingAnswersEachMessageAsItArrives) {
  echo_link link;
  const auto id = link.echo_client.start("Bidi", {request("one")}, false);
  ASSERT_TRUE(link.pump());
  ASSERT_EQ(link.echo_client.outcome(id).responses.size(), 1u);
  link.echo_client.send(id, request("two"), false);
  ASSERT_TRUE(link.pump());
  ASSERT_EQ(link.echo_client.outcome(id).responses.size(), 2u);
  EXPECT_EQ(link.echo_client.outcome(id).responses[1].payload(), "two");
  link.echo_client.send(id, request("three"), true);
  ASSERT_TRUE(link.pump());
  const auto& out = link.echo_client.outcome(id);
  ASSERT_TRUE(out.result && out.result->ok());
  EXPECT_EQ(out.responses.size(), 3u);
}

TEST(CallShapes, ManyConcurrentCallsOnOneConnection) {
  echo_link link;
  std::vector<stream_id> ids;
  for (int i = 0; i < 50; ++i)
    ids.push_back(link.echo_client.start("Unary", {request("n" + std::to_string(i))}));
  ASSERT_TRUE(link.pump());
  for (int i = 0; i < 50; ++i) {
    const auto& out = link.echo_client.outcome(ids[i]);
    ASSERT_TRUE(out.result && out.result->ok());
    EXPECT_EQ(out.responses.at(0).payload(), "n" + std::to_string(i));
  }
}

TEST(CallShapes, TrailersOnlyErrorCarriesStatusMessageAndDetailsUnchanged) {
  echo_link link;
  auto r = request("x");
  r.mutable_error()->set_code(static_cast<int>(status_code::permission_denied));
  r.mutable_error()->set_message("namespace 'payments' is not in aclPolicy.allowedNamespaces");
  r.mutable_error()->set_details(std::string("\x08\x07\x12\x02no", 6));
  const auto id = link.echo_client.start("Unary", {r});
  ASSERT_TRUE(link.pump());
  const auto& out = link.echo_client.outcome(id);
  ASSERT_TRUE(out.result);
  EXPECT_EQ(out.result->code, status_code::permission_denied);
  EXPECT_EQ(out.result->message, "namespace 'payments' is not in aclPolicy.allowedNamespaces");
  EXPECT_TRUE(out.response_headers.empty()) << "trailers-only: one header block";
  EXPECT_EQ(find_header(out.trailers, ":status"), "200");
  EXPECT_EQ(find_header(out.trailers, "grpc-status-details-bin"), base64_encode(r.error().details()));
  EXPECT_TRUE(out.responses.empty());
}

TEST(CallShapes, ErrorAfterStreamedResponsesComesInTrailers) {
  echo_link link;
  auto r = request("x");
  r.set_stream_count(2);
  r.mutable_error()->set_code(static_cast<int>(status_code::aborted));
  r.mutable_error()->set_message("after two");
  const auto id = link.echo_client.start("ServerStream", {r});
  ASSERT_TRUE(link.pump());
  const auto& out = link.echo_client.outcome(id);
  EXPECT_EQ(out.responses.size(), 2u);
  EXPECT_EQ(out.result->code, status_code::aborted);
  EXPECT_EQ(find_header(out.trailers, "grpc-message"), "after two");
}

TEST(CallShapes, AServerEndingBeforeTheClientHalfClosedResetsTheStreamSoNeitherSideKeepsIt) {
  echo_link link;
  auto failing = request("stop");
  failing.mutable_error()->set_code(static_cast<int>(status_code::unavailable));
  failing.mutable_error()->set_message("going away");
  const auto id = link.echo_client.start("Bidi", {request("one"), failing}, false);
  ASSERT_TRUE(link.pump());
  const auto& out = link.echo_client.outcome(id);
  ASSERT_TRUE(out.result);
  EXPECT_EQ(out.result->code, status_code::unavailable);
  EXPECT_EQ(find_header(out.trailers, "grpc-message"), "going away");
  // The client never half-closed: without the server's RST_STREAM(NO_ERROR) both would hold it.
  EXPECT_EQ(link.server.stream_count(), 0u);
  EXPECT_EQ(link.client.stream_count(), 0u);
}

TEST(CallShapes, MetadataArrivesInOrderAndBinaryValuesUntouched) {
  echo_link link;
  const header_list metadata = {
      {"temporal-client-cluster-id", "cluster-a"}, {"xdc-redirection", "true"}, {"trace-bin", "AAECAwQ"}};
  link.echo_client.start("Unary", {request("m")}, true, std::nullopt, metadata);
  ASSERT_TRUE(link.pump());
  ASSERT_EQ(link.echo_server.requests.size(), 1u);
  const auto& seen = link.echo_server.requests[0].metadata;
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0], (header{"content-type", "application/grpc"}));
  EXPECT_EQ(header_list(seen.begin() + 1, seen.end()), metadata);
}

TEST(CallShapes, DeadlineIsReEmittedWithWhatRemains) {
  echo_link link;
  // The proxy's view: a caller gave 2 s, 350 ms passed before the call went upstream.
  const auto caller = parse_timeout("2S");
  const auto remaining = *caller - 350ms;
  const auto id = link.echo_client.start("Unary", {request("d")}, true, remaining);
  ASSERT_TRUE(link.pump());
  EXPECT_EQ(link.echo_server.requests.at(0).timeout, 1650ms);
  EXPECT_EQ(link.echo_client.outcome(id).responses.at(0).deadline_remaining_ms(), 1650);
  // And a call without a deadline has no grpc-timeout.
  const auto none = link.echo_client.start("Unary", {request("d")});
  ASSERT_TRUE(link.pump());
  EXPECT_FALSE(link.echo_server.requests.at(1).timeout);
  EXPECT_EQ(link.echo_client.outcome(none).responses.at(0).deadline_remaining_ms(), -1);
}

TEST(CallShapes, ClientCancelResetsTheStreamAndTheServerSeesCancel) {
  echo_link link;
  const auto id = link.echo_client.start("Bidi", {request("one")}, false);
  ASSERT_TRUE(link.pump());
  ASSERT_TRUE(link.client.reset(id, error_code::cancel));
  ASSERT_TRUE(link.pump());
  ASSERT_EQ(link.echo_server.resets.size(), 1u);
  EXPECT_EQ(link.echo_server.resets[0].code, error_code::cancel);
  EXPECT_TRUE(link.echo_server.resets[0].by_peer);
  EXPECT_EQ(status_for_http2_error(link.echo_server.resets[0].code), status_code::cancelled);
  const auto& out = link.echo_client.outcome(id);
  ASSERT_TRUE(out.reset);
  EXPECT_FALSE(out.reset->by_peer);
  EXPECT_EQ(out.result->code, status_code::cancelled);
  EXPECT_EQ(link.server.stream_count(), 0u);
  EXPECT_EQ(link.client.stream_count(), 0u);
}

TEST(CallShapes, CancelBeforeTheRequestWentOutIsNotAConnectionError) {
  echo_link link;
  const auto id = link.echo_client.start("Bidi", {request("one")}, false);
  ASSERT_TRUE(link.client.reset(id, error_code::cancel));  // nothing framed yet
  EXPECT_FALSE(link.client.send_data(id, std::vector<std::uint8_t>{1}, false));
  ASSERT_TRUE(link.pump());
  EXPECT_TRUE(all_of<connection_error>(link.server_events).empty());
  ASSERT_EQ(link.echo_server.resets.size(), 1u);
  EXPECT_EQ(link.echo_server.resets[0].code, error_code::cancel);
  EXPECT_EQ(link.echo_client.outcome(id).result->code, status_code::cancelled);
  EXPECT_EQ(link.client.stream_count(), 0u);
}

TEST(CallShapes, ServerResetReachesTheClientAsItsStatus) {
  echo_link link;
  const auto id = link.echo_client.start("Bidi", {request("one")}, false);
  ASSERT_TRUE(link.pump());
  ASSERT_TRUE(link.server.reset(id, error_code::refused_stream));
  ASSERT_TRUE(link.pump());
  const auto& out = link.echo_client.outcome(id);
  ASSERT_TRUE(out.reset);
  EXPECT_TRUE(out.reset->by_peer);
  EXPECT_EQ(out.reset->code, error_code::refused_stream);
  EXPECT_EQ(out.result->code, status_code::unavailable);
  EXPECT_FALSE(link.client.send_data(id, std::vector<std::uint8_t>{1}, false)) << "the stream is gone";
}

TEST(CallShapes, OversizedMessageIsRefusedWithResourceExhausted) {
  echo_link link;
  // Only the prefix of a 128 MiB + 1 message: the server refuses it without waiting for the bytes.
  const auto opened = link.client.open_stream(
      request_headers({.authority = "x", .path = "/s2s.testing.v1.EchoService/Unary"}, std::nullopt), false);
  const auto prefix = message_prefix(0, default_max_message_bytes + 1);
  link.client.send_data(opened.id, prefix);
  ASSERT_TRUE(link.pump());
  const auto headers = all_of<headers_received>(link.client_events);
  ASSERT_EQ(headers.size(), 1u);
  EXPECT_TRUE(headers[0].end_stream);
  const auto s = status_of(headers[0].headers);
  EXPECT_EQ(s.code, status_code::resource_exhausted);
  EXPECT_EQ(s.message, "gRPC message of 134217729 bytes is larger than the limit of 134217728 bytes");
}

TEST(CallShapes, ASecondResponseOnAStreamIsRefused) {
  echo_link link;
  link.on_server = nullptr;
  const auto id = link.echo_client.start("Bidi", {request("a")}, false);
  ASSERT_TRUE(link.pump());
  EXPECT_TRUE(link.server.respond(id, response_headers(), false));
  EXPECT_FALSE(link.server.respond(id, response_headers(), false));
  EXPECT_FALSE(link.server.respond(id + 2, response_headers(), false)) << "no such stream";
  EXPECT_FALSE(link.client.respond(id, response_headers(), false)) << "clients do not respond";
}

TEST(CallShapes, DataEventsViewTheInputTheyCameIn) {
  connection client(role::client);
  connection server(role::server);
  const auto id = client.open_stream(request_headers({.authority = "x", .path = "/a/b"}, std::nullopt), false).id;
  ASSERT_NE(id, 0);
  std::vector<std::uint8_t> sent(40 * 1024);
  for (std::size_t i = 0; i < sent.size(); ++i)
    sent[i] = static_cast<std::uint8_t>(i * 7);
  ASSERT_TRUE(client.send_data(id, sent, true));
  const auto out = client.pending_output();
  const std::vector<std::uint8_t> input(out.begin(), out.end());
  client.consume_output(out.size());
  server.receive(input);
  std::vector<std::uint8_t> received;
  std::size_t chunks = 0;
  bool ended = false;
  while (auto e = server.poll_event()) {
    const auto* d = std::get_if<data_received>(&*e);
    if (!d || d->bytes.empty()) {
      ended |= d && d->end_stream;
      continue;
    }
    ++chunks;
    ended |= d->end_stream;
    EXPECT_GE(d->bytes.data(), input.data()) << "a copy, not a view of the input";
    EXPECT_LE(d->bytes.data() + d->bytes.size(), input.data() + input.size()) << "a copy, not a view of the input";
    received.insert(received.end(), d->bytes.begin(), d->bytes.end());
    server.consume(id, d->bytes.size());
  }
  EXPECT_EQ(received, sent);
  EXPECT_EQ(chunks, 3u) << "one event per DATA frame of at most 16 KiB";
  EXPECT_TRUE(ended);
}

TEST(CallShapes, PingIsAcknowledgedWithItsPayload) {
  memory_link link;
  const auto payload = link.client.ping();
  const auto other = link.server.ping();
  ASSERT_TRUE(link.pump());
  EXPECT_EQ(all_of<ping_acknowledged>(link.client_events).at(0).payload, payload);
  EXPECT_EQ(all_of<ping_acknowledged>(link.server_events).at(0).payload, other);
}

}  // namespace
}  // namespace s2s::http2::testing
