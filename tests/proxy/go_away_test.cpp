// A graceful GOAWAY from an upstream that ages its connections, as Temporal's frontend does, is
// passed on to the callers as a graceful GOAWAY, in TCP mode and through a mux pair: the caller's
// channel leaves READY (it will open a new connection for new calls), the stream in flight
// carries on to its end, and new calls work.
#include <gtest/gtest.h>

#include <grpcpp/client_context.h>

#include "proxy/proxy_harness.hpp"
#include "support/certs.hpp"
#include "support/temp_dir.hpp"

namespace s2s::testing {
namespace {

using v1::EchoService;
using namespace std::chrono_literals;

echo_server_options ageing_upstream() {
  echo_server_options options;
  options.max_connection_age = 1500ms;  // grpc adds up to 10% jitter
  options.max_connection_age_grace = 60s;
  return options;
}

// Holds a stream open through the proxy at `address` while the upstream ages its connection.
void expect_go_away_passed_on(const std::string& address, const std::string& label) {
  auto channel = make_channel(address);
  auto stub = EchoService::NewStub(channel);
  grpc::ClientContext context;
  auto stream = stub->Bidi(&context);
  v1::EchoResponse response;
  ASSERT_TRUE(stream->Write(echo("one")) && stream->Read(&response)) << label;
  ASSERT_EQ(channel->GetState(false), GRPC_CHANNEL_READY) << label;

  // The upstream's GOAWAY comes after about 1.5 s; the caller's channel hears of it through ours.
  auto until = std::chrono::steady_clock::now() + 15s;
  while (channel->GetState(false) == GRPC_CHANNEL_READY && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(50ms);
  EXPECT_NE(channel->GetState(false), GRPC_CHANNEL_READY)
      << label << ": the caller's connection was not told to go away";

  // The stream in flight goes on: the upstream keeps its connection for the grace period.
  ASSERT_TRUE(stream->Write(echo("two")) && stream->Read(&response)) << label;
  EXPECT_EQ(response.payload(), "two") << label;
  stream->WritesDone();
  auto status = stream->Finish();
  EXPECT_TRUE(status.ok()) << label << ": " << status.error_message();

  // And a new call works, on a new connection.
  auto after = call_unary(*stub, echo("after"));
  EXPECT_TRUE(after.status.ok()) << label << ": " << after.status.error_message();
}

TEST(GoAway, TcpModePassesAnUpstreamsGracefulGoAwayOnToTheCaller) {
  echo_server cluster_a;
  echo_server cluster_b(ageing_upstream());
  config::config config;
  config.cluster_connections.push_back(tcp_connection("a-to-b", cluster_a.port(), cluster_b.port()));
  proxy_process proxy(config);
  expect_go_away_passed_on(proxy.address("a-to-b outbound"), "tcp outbound");
}

TEST(GoAway, MuxModePassesItThroughBothProxiesToTheCaller) {
  temp_dir files;
  auto certs = make_test_certificates(files.path());
  echo_server cluster_a;
  echo_server cluster_b(ageing_upstream());
  config::config b;
  b.cluster_connections.push_back(
      mux_connection("b-to-a", cluster_b.port(), config::connection_type::mux_server, 0, mux_server_tls(certs)));
  proxy_process proxy_b(b);
  config::config a;
  a.cluster_connections.push_back(mux_connection("a-to-b", cluster_a.port(), config::connection_type::mux_client,
                                                 proxy_b.mux_port("b-to-a"), mux_client_tls(certs)));
  proxy_process proxy_a(a);
  ASSERT_TRUE(proxy_a.wait_for_sessions("a-to-b", 1, 20s));
  ASSERT_TRUE(proxy_b.wait_for_sessions("b-to-a", 1, 20s));
  expect_go_away_passed_on(proxy_a.address("a-to-b outbound"), "mux outbound");
}

TEST(GoAway, TcpModePassesItOnInTheInboundDirectionToo) {
  echo_server cluster_a(ageing_upstream());
  echo_server cluster_b;
  config::config config;
  config.cluster_connections.push_back(tcp_connection("a-to-b", cluster_a.port(), cluster_b.port()));
  proxy_process proxy(config);
  expect_go_away_passed_on(proxy.address("a-to-b inbound"), "tcp inbound");
}

TEST(GoAway, MuxModePassesItFromTheClientSidesUpstreamToTheServerSidesCaller) {
  temp_dir files;
  auto certs = make_test_certificates(files.path());
  echo_server cluster_a(ageing_upstream());
  echo_server cluster_b;
  config::config b;
  b.cluster_connections.push_back(
      mux_connection("b-to-a", cluster_b.port(), config::connection_type::mux_server, 0, mux_server_tls(certs)));
  proxy_process proxy_b(b);
  config::config a;
  a.cluster_connections.push_back(mux_connection("a-to-b", cluster_a.port(), config::connection_type::mux_client,
                                                 proxy_b.mux_port("b-to-a"), mux_client_tls(certs)));
  proxy_process proxy_a(a);
  ASSERT_TRUE(proxy_a.wait_for_sessions("a-to-b", 1, 20s));
  ASSERT_TRUE(proxy_b.wait_for_sessions("b-to-a", 1, 20s));
  expect_go_away_passed_on(proxy_b.address("b-to-a outbound"), "mux B to A");
}

}  // namespace
}  // namespace s2s::testing
