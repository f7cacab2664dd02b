// Several instances of one side: a mux-client instance without a session of its own forwards its calls
// to a peer instance of its group that has one (memberlist over CAF's middleman with mutual TLS), and a
// call is forwarded once, never on.
#include <gtest/gtest.h>

#include <caf/scoped_actor.hpp>

#include <functional>
#include <thread>

#include "proxy/proxy_harness.hpp"
#include "support/ports.hpp"
#include "support/temp_dir.hpp"

namespace s2s::testing {
namespace {

using namespace std::chrono_literals;
using v1::EchoService;

std::string loopback_address(int port) { return "127.0.0.1:" + std::to_string(port); }

// Proxy B (mux-server in front of cluster B); A1 and A2, two mux-client instances of side A in one
// group. A1 dials B; A2 dials a port where nothing listens, so it never has a session of its own.
class GroupForwarding : public ::testing::Test {
 protected:
  temp_dir files;
  test_certificates certs = make_test_certificates(files.path());
  echo_server cluster_a;
  echo_server cluster_b;
  std::unique_ptr<proxy_process> proxy_b;
  std::unique_ptr<proxy_process> a1;
  std::unique_ptr<proxy_process> a2;
  int a1_outbound = free_loopback_port();
  int a2_outbound = free_loopback_port();
  int a1_member = free_loopback_port();

  config::memberlist_config group(const std::string& node, int bind_port, std::vector<std::string> join,
                                  const certificate_files& leaf) {
    config::memberlist_config memberlist;
    memberlist.enabled = true;
    memberlist.node_name = node;
    memberlist.bind_address = "127.0.0.1";
    memberlist.bind_port = bind_port;
    memberlist.join_addresses = std::move(join);
    memberlist.proxy_addresses = {{"a1", loopback_address(a1_outbound)}, {"a2", loopback_address(a2_outbound)}};
    memberlist.probe_interval_ms = 200;
    memberlist.probe_timeout_ms = 200;
    memberlist.tls.certificate_path = leaf.certificate;
    memberlist.tls.key_path = leaf.private_key;
    memberlist.tls.remote_ca_path = certs.trusted.ca_certificate;
    return memberlist;
  }

  std::unique_ptr<proxy_process> instance(const std::string& node, int outbound, int mux_port,
                                          config::memberlist_config memberlist) {
    config::config a;
    auto connection = mux_connection("a-to-b", cluster_a.port(), config::connection_type::mux_client, mux_port,
                                     mux_client_tls(certs));
    connection.local.tcp_server = loopback(outbound);
    connection.memberlist = std::move(memberlist);
    a.cluster_connections.push_back(std::move(connection));
    return std::make_unique<proxy_process>(a);
  }

  void start() {
    config::config b;
    b.cluster_connections.push_back(
        mux_connection("b-to-a", cluster_b.port(), config::connection_type::mux_server, 0, mux_server_tls(certs)));
    proxy_b = std::make_unique<proxy_process>(b);
    // The test leaves carry one extended key usage each: the member others join gets the server leaf,
    // the member that joins the client leaf.
    a1 = instance("a1", a1_outbound, proxy_b->mux_port("b-to-a"), group("a1", a1_member, {}, certs.trusted.server));
    a2 = instance("a2", a2_outbound, free_loopback_port(),
                  group("a2", 0, {loopback_address(a1_member)}, certs.trusted.client));
    ASSERT_TRUE(a1->wait_for_sessions("a-to-b", 1, 20s));
  }

  void TearDown() override {
    a2.reset();
    a1.reset();
    proxy_b.reset();
  }

  static actors::member_view view_of(proxy_process& proxy) {
    auto report = proxy.report();
    actors::member_view view;
    if (report.mux.empty() || !report.mux[0].member) {
      ADD_FAILURE() << "the proxy reports no group member";
      return view;
    }
    caf::scoped_actor self{proxy.system()};
    self->request(*report.mux[0].member, 5s, actors::members_atom::value)
        .receive([&](actors::member_view& answer) { view = std::move(answer); },
                 [&](caf::error& error) { ADD_FAILURE() << proxy.system().render(error); });
    return view;
  }

  // Asks for the member's view until it satisfies the condition, for at most 30 s.
  static bool wait_for(proxy_process& proxy, const std::function<bool(const actors::member_view&)>& condition) {
    for (int i = 0; i < 300; ++i) {
      if (condition(view_of(proxy)))
        return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  static bool carries(const actors::member_view& view, const std::string& node) {
    return std::find(view.carriers.begin(), view.carriers.end(), node) != view.carriers.end();
  }
};

TEST_F(GroupForwarding, AnInstanceWithoutASessionForwardsItsCallsToAPeerThatHasOne) {
  start();
  ASSERT_TRUE(wait_for(*a2, [](const auto& view) { return carries(view, "a1"); }))
      << "a2 never learned that a1 has a session";
  EXPECT_EQ(view_of(*a2).sessions, 0u);
  ASSERT_TRUE(wait_for(*a1, [](const auto& view) { return view.sessions == 1; }));

  auto stub = EchoService::NewStub(make_channel(a2->address("a-to-b outbound")));
  call_options options;
  options.metadata = {{"x-echo-marker", "through a2"}};
  for (int i = 0; i < 5; ++i) {
    auto result = call_unary(*stub, echo("forwarded " + std::to_string(i)), options);
    ASSERT_TRUE(result.status.ok()) << result.status.error_message();
    ASSERT_EQ(result.responses.size(), 1u);
    EXPECT_EQ(result.responses[0].payload(), "forwarded " + std::to_string(i));
    EXPECT_EQ(result.initial_metadata.count("x-echo-marker"), 1u);
  }
  EXPECT_EQ(cluster_b.calls().started(), 5u);
  EXPECT_EQ(cluster_a.calls().started(), 0u);

  // A call placed on A1 directly goes over its own session, as before.
  auto direct = EchoService::NewStub(make_channel(a1->address("a-to-b outbound")));
  auto result = call_unary(*direct, echo("direct"));
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(cluster_b.calls().started(), 6u);

  // The way back is unchanged: B's calls reach cluster A through the one session there is.
  auto back = EchoService::NewStub(make_channel(proxy_b->address("b-to-a outbound")));
  result = call_unary(*back, echo("to A"));
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(cluster_a.calls().started(), 1u);
}

TEST_F(GroupForwarding, ACallIsForwardedOnceAndNeverOn) {
  start();
  ASSERT_TRUE(wait_for(*a2, [](const auto& view) { return carries(view, "a1"); }));
  // A call that says another instance forwarded it to a2: a2 has no session, and must not pass it on.
  auto stub = EchoService::NewStub(make_channel(a2->address("a-to-b outbound")));
  call_options options;
  options.metadata = {{"s2s-proxy-forwarded-by", "a1"}};
  auto result = call_unary(*stub, echo("loop"), options);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(result.status.error_message().find("forwarded this call to instance 'a2'"), std::string::npos)
      << result.status.error_message();
  EXPECT_EQ(cluster_b.calls().started(), 0u);
}

TEST_F(GroupForwarding, WithoutAPeerThatHasASessionTheCallIsRefusedWithBothReasons) {
  start();
  ASSERT_TRUE(wait_for(*a2, [](const auto& view) { return carries(view, "a1"); }));
  proxy_b.reset();  // A1 loses its session; its next heartbeats say so
  ASSERT_TRUE(wait_for(*a2, [](const auto& view) { return view.carriers.empty(); }))
      << "a2 still counts on a1 after a1's session ended";
  auto stub = EchoService::NewStub(make_channel(a2->address("a-to-b outbound")));
  auto result = call_unary(*stub, echo("nowhere"));
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(result.status.error_message().find("no peer instance has one"), std::string::npos)
      << result.status.error_message();
}

TEST_F(GroupForwarding, APeerThatStopsLeavesTheGroupAndIsNoLongerACarrier) {
  start();
  ASSERT_TRUE(wait_for(*a2, [](const auto& view) { return carries(view, "a1"); }));
  a1.reset();  // a stop as on SIGTERM: the member leaves before the listeners drain
  ASSERT_TRUE(wait_for(*a2, [](const auto& view) {
    for (const auto& peer : view.members)
      if (peer.identity.node_name == "a1")
        return peer.left && peer.state == cluster::member_state::dead;
    return false;
  })) << "a2 never heard a1 leave";
  EXPECT_TRUE(view_of(*a2).carriers.empty());
  auto stub = EchoService::NewStub(make_channel(a2->address("a-to-b outbound")));
  auto result = call_unary(*stub, echo("nobody"));
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace s2s::testing
