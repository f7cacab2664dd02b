// Idle clients that ping as the Go SDK (every 30 s) and as eagerly as Temporal's frontend allows
// (every 10 s), without calls, keep their connections through the proxy: no GOAWAY for pings.
#include <thread>

#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

#include "proxy/proxy_harness.hpp"
#include "support/certs.hpp"
#include "support/temp_dir.hpp"

namespace s2s::testing {
namespace {

using v1::EchoService;
using namespace std::chrono_literals;

// grpc core's server default sends GOAWAY too_many_pings on the third early ping: a client
// pinging every 30 s meets it at 90 s. 130 s holds more than four of its pings.
constexpr auto idle_hold = 130s;

// An idle client of one proxy listener with the keepalive of a Go SDK client: pings every
// `interval` whether or not a call is open, and never stops pinging for want of data.
struct pinging_client {
  std::string label;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<EchoService::Stub> stub;
  echo_server* target;

  pinging_client(std::string what, const std::string& address, std::chrono::seconds interval, echo_server* answering)
      : label(std::move(what) + ", ping every " + std::to_string(interval.count()) + " s"), target(answering) {
    grpc::ChannelArguments arguments;
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(interval.count() * 1000));
    arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
    arguments.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    arguments.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);  // as grpc-go: no such limit
    channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), arguments);
    stub = EchoService::NewStub(channel);
  }
};

std::string state_name(grpc_connectivity_state state) {
  switch (state) {
    case GRPC_CHANNEL_IDLE:
      return "IDLE (the connection was closed, by GOAWAY or otherwise)";
    case GRPC_CHANNEL_CONNECTING:
      return "CONNECTING";
    case GRPC_CHANNEL_READY:
      return "READY";
    case GRPC_CHANNEL_TRANSIENT_FAILURE:
      return "TRANSIENT_FAILURE";
    case GRPC_CHANNEL_SHUTDOWN:
      return "SHUTDOWN";
  }
  return "unknown";
}

// Connects every client with one call, holds them idle for `idle_hold` while watching that each
// channel stays READY (a GOAWAY takes a grpc core channel to IDLE, where it stays until the next
// call), then checks a call still passes on the same connection.
void hold_idle_and_check(std::vector<pinging_client>& clients) {
  for (auto& client : clients) {
    auto result = call_unary(*client.stub, echo("connect"));
    ASSERT_TRUE(result.status.ok()) << client.label << ": " << result.status.error_message();
    ASSERT_EQ(client.channel->GetState(false), GRPC_CHANNEL_READY) << client.label;
  }
  std::vector<std::string> left_ready(clients.size());
  auto until = std::chrono::steady_clock::now() + idle_hold;
  while (std::chrono::steady_clock::now() < until) {
    for (std::size_t i = 0; i < clients.size(); ++i) {
      auto state = clients[i].channel->GetState(false);
      if (state != GRPC_CHANNEL_READY && left_ready[i].empty()) {
        auto held =
            idle_hold - std::chrono::duration_cast<std::chrono::seconds>(until - std::chrono::steady_clock::now());
        left_ready[i] = state_name(state) + " after " + std::to_string(held.count()) + " s";
      }
    }
    std::this_thread::sleep_for(250ms);
  }
  for (std::size_t i = 0; i < clients.size(); ++i) {
    auto& client = clients[i];
    EXPECT_EQ(left_ready[i], "") << client.label << ": the channel left READY";
    auto before = client.target->calls().started();
    auto result = call_unary(*client.stub, echo("still here"));
    EXPECT_TRUE(result.status.ok()) << client.label << ": " << result.status.error_message();
    EXPECT_EQ(client.target->calls().started(), before + 1) << client.label;
    EXPECT_EQ(client.channel->GetState(false), GRPC_CHANNEL_READY) << client.label;
  }
}

// Both listeners of a TCP-mode proxy and both outbound listeners of a mux pair, held at once
// so the run costs `idle_hold` once.
TEST(KeepaliveSoak, IdleClientsPingingEveryTenOrThirtySecondsKeepTheirConnectionsInTcpAndMuxMode) {
  echo_server cluster_a;
  echo_server cluster_b;
  config::config tcp;
  tcp.cluster_connections.push_back(tcp_connection("a-to-b", cluster_a.port(), cluster_b.port()));
  proxy_process tcp_proxy(tcp);

  temp_dir files;
  auto certs = make_test_certificates(files.path());
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

  std::vector<pinging_client> clients;
  for (auto interval : {30s, 10s}) {
    clients.emplace_back("TCP mode outbound", tcp_proxy.address("a-to-b outbound"), interval, &cluster_b);
    clients.emplace_back("TCP mode inbound", tcp_proxy.address("a-to-b inbound"), interval, &cluster_a);
    clients.emplace_back("mux pair, A to B", proxy_a.address("a-to-b outbound"), interval, &cluster_b);
    clients.emplace_back("mux pair, B to A", proxy_b.address("b-to-a outbound"), interval, &cluster_a);
  }
  hold_idle_and_check(clients);
}

}  // namespace
}  // namespace s2s::testing
