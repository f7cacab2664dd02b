// Mux mode end to end: two proxies in one process, joined by yamux sessions over mutual TLS,
// an echo server behind each; every check runs in both directions over the same sessions.
#include <future>
#include <thread>

#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include "proxy/proxy_harness.hpp"
#include "support/certs.hpp"
#include "support/temp_dir.hpp"

namespace s2s::testing {
namespace {

using v1::EchoRequest;
using v1::EchoService;
using namespace std::chrono_literals;

EchoRequest echo(std::string payload) {
  EchoRequest request;
  request.set_payload(std::move(payload));
  return request;
}

config::tls_config server_tls(const test_certificates& certs) {
  config::tls_config tls;
  tls.certificate_path = certs.trusted.server.certificate;
  tls.key_path = certs.trusted.server.private_key;
  tls.remote_ca_path = certs.trusted.ca_certificate;
  return tls;
}

config::tls_config client_tls(const test_certificates& certs) {
  config::tls_config tls;
  tls.certificate_path = certs.trusted.client.certificate;
  tls.key_path = certs.trusted.client.private_key;
  tls.remote_ca_path = certs.trusted.ca_certificate;
  tls.ca_server_name = test_certificates::server_name;
  return tls;
}

// Proxy B (mux-server, in front of cluster B) and proxy A (mux-client, in front of cluster A).
// "A to B" is A's outbound listener; "B to A" is B's.
class MuxProxy : public ::testing::Test {
 protected:
  temp_dir files;
  test_certificates certs = make_test_certificates(files.path());
  echo_server cluster_a;
  echo_server cluster_b;
  std::unique_ptr<proxy_process> proxy_b;
  std::unique_ptr<proxy_process> proxy_a;

  void start(int mux_count = 1) {
    config::config b;
    b.cluster_connections.push_back(mux_connection(
        "b-to-a", cluster_b.port(), config::connection_type::mux_server, 0, server_tls(certs),
        mux_count));
    proxy_b = std::make_unique<proxy_process>(b);
    config::config a;
    a.cluster_connections.push_back(mux_connection("a-to-b", cluster_a.port(),
                                                   config::connection_type::mux_client,
                                                   proxy_b->mux_port("b-to-a"), client_tls(certs),
                                                   mux_count));
    proxy_a = std::make_unique<proxy_process>(a);
    ASSERT_TRUE(proxy_a->wait_for_sessions("a-to-b", mux_count, 20s));
    ASSERT_TRUE(proxy_b->wait_for_sessions("b-to-a", mux_count, 20s));
  }

  void TearDown() override {
    proxy_a.reset();
    proxy_b.reset();
  }

  // Both directions: (stub into the calling proxy, the echo server that must answer).
  struct direction {
    const char* label;
    std::unique_ptr<EchoService::Stub> stub;
    echo_server* target;
  };
  std::vector<direction> directions() {
    std::vector<direction> out;
    out.push_back({"A to B", EchoService::NewStub(make_channel(proxy_a->address("a-to-b outbound"))),
                   &cluster_b});
    out.push_back({"B to A", EchoService::NewStub(make_channel(proxy_b->address("b-to-a outbound"))),
                   &cluster_a});
    return out;
  }
};

TEST_F(MuxProxy, UnaryCallsReachTheOtherClusterInBothDirections) {
  start();
  for (auto& way : directions()) {
    auto result = call_unary(*way.stub, echo(std::string("hello ") + way.label));
    ASSERT_TRUE(result.status.ok()) << way.label << ": " << result.status.error_message();
    EXPECT_EQ(result.responses[0].payload(), std::string("hello ") + way.label);
    EXPECT_EQ(way.target->calls().started(), 1u) << way.label;
  }
}

}  // namespace
}  // namespace s2s::testing
