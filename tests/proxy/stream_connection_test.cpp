// Long-lived streams reach the upstream on a connection of their own, in TCP mode and in mux mode
// (whose inbound side calls the local frontend over TCP): a server that ages its connections, as
// Temporal's frontend does, then gives a stream a connection as old as the stream, not one that
// a stream of unary calls has been using for minutes.
#include <gtest/gtest.h>

#include "proxy/proxy_harness.hpp"
#include "support/certs.hpp"
#include "support/temp_dir.hpp"

namespace s2s::testing {
namespace {

using v1::EchoService;
using namespace std::chrono_literals;

// The echo service has no method named Stream...: its Bidi stands for the replication stream.
actors::proxy_options bidi_is_long_lived() {
  actors::proxy_options options;
  options.long_lived_stream = [](std::string_view method) { return method.ends_with("/Bidi"); };
  return options;
}

// A unary call, a stream, a unary call: the unary calls share one connection to the upstream,
// the stream arrives on another. The upstream tells them apart by the caller's address.
void expect_stream_on_its_own_connection(EchoService::Stub& stub, const echo_server& upstream,
                                         const std::string& label) {
  auto first = call_unary(stub, echo("before"));
  ASSERT_TRUE(first.status.ok()) << label << ": " << first.status.error_message();
  auto stream = call_bidi(stub, {echo("one"), echo("two")});
  ASSERT_TRUE(stream.status.ok()) << label << ": " << stream.status.error_message();
  ASSERT_EQ(stream.responses.size(), 2u) << label;
  auto last = call_unary(stub, echo("after"));
  ASSERT_TRUE(last.status.ok()) << label << ": " << last.status.error_message();

  auto peers = upstream.calls().peers();
  ASSERT_EQ(peers.size(), 3u) << label;
  EXPECT_EQ(peers[0], peers[2]) << label << ": unary calls left the shared connection";
  EXPECT_NE(peers[1], peers[0]) << label << ": the stream rode the unary calls' connection";
}

TEST(StreamConnection, TcpModeGivesALongLivedStreamAnUpstreamConnectionOfItsOwn) {
  echo_server cluster_a;
  echo_server cluster_b;
  config::config config;
  config.cluster_connections.push_back(tcp_connection("a-to-b", cluster_a.port(), cluster_b.port()));
  proxy_process proxy(config, bidi_is_long_lived());
  auto outbound = EchoService::NewStub(make_channel(proxy.address("a-to-b outbound")));
  expect_stream_on_its_own_connection(*outbound, cluster_b, "outbound");
  auto inbound = EchoService::NewStub(make_channel(proxy.address("a-to-b inbound")));
  expect_stream_on_its_own_connection(*inbound, cluster_a, "inbound");
}

TEST(StreamConnection, OtherStreamsStayOnTheSharedConnection) {
  echo_server cluster_a;
  echo_server cluster_b;
  config::config config;
  config.cluster_connections.push_back(tcp_connection("a-to-b", cluster_a.port(), cluster_b.port()));
  proxy_process proxy(config);  // the default rule: only methods named Stream...
  auto outbound = EchoService::NewStub(make_channel(proxy.address("a-to-b outbound")));
  ASSERT_TRUE(call_unary(*outbound, echo("before")).status.ok());
  ASSERT_TRUE(call_bidi(*outbound, {echo("one")}).status.ok());
  auto peers = cluster_b.calls().peers();
  ASSERT_EQ(peers.size(), 2u);
  EXPECT_EQ(peers[0], peers[1]);
}

TEST(StreamConnection, MuxModeGivesAStreamFromThePeerALocalConnectionOfItsOwn) {
  temp_dir files;
  auto certs = make_test_certificates(files.path());
  echo_server cluster_a;
  echo_server cluster_b;
  config::config b;
  b.cluster_connections.push_back(
      mux_connection("b-to-a", cluster_b.port(), config::connection_type::mux_server, 0, mux_server_tls(certs)));
  proxy_process proxy_b(b, bidi_is_long_lived());
  config::config a;
  a.cluster_connections.push_back(mux_connection("a-to-b", cluster_a.port(), config::connection_type::mux_client,
                                                 proxy_b.mux_port("b-to-a"), mux_client_tls(certs)));
  proxy_process proxy_a(a, bidi_is_long_lived());
  ASSERT_TRUE(proxy_a.wait_for_sessions("a-to-b", 1, 20s));
  ASSERT_TRUE(proxy_b.wait_for_sessions("b-to-a", 1, 20s));
  auto a_to_b = EchoService::NewStub(make_channel(proxy_a.address("a-to-b outbound")));
  expect_stream_on_its_own_connection(*a_to_b, cluster_b, "A to B");
  auto b_to_a = EchoService::NewStub(make_channel(proxy_b.address("b-to-a outbound")));
  expect_stream_on_its_own_connection(*b_to_a, cluster_a, "B to A");
}

}  // namespace
}  // namespace s2s::testing
