// Translation figures of a running proxy, scraped over HTTP: messages by type and result, what
// they changed by kind, the time spent, and access-policy refusals, each moving by exactly the
// calls made.
#include <map>
#include <thread>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include "http/http_client.hpp"
#include "metrics/proxy_metrics.hpp"
#include "metrics/translation_metrics.hpp"
#include "proxy/proxy_harness.hpp"
#include "rpc/blocking_bidi.hpp"
#include "support/temporal_server.hpp"
#include "temporal_messages.hpp"

namespace s2s::testing {
namespace {

using namespace std::chrono_literals;
using namespace s2s::translation::testing;

const std::string describe_namespace = "/temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace";
const std::string describe_mutable_state = "/temporal.server.api.adminservice.v1.AdminService/DescribeMutableState";
const std::string request_type = "temporal.api.workflowservice.v1.DescribeNamespaceRequest";
const std::string response_type = "temporal.api.workflowservice.v1.DescribeNamespaceResponse";

std::string describe_request(std::string_view name) {
  auto m = make(request_type);
  set(*m, "namespace", name);
  return bytes_of(*m);
}

// A response naming the namespace and carrying one string with invalid UTF-8.
std::string describe_response(std::string_view name) {
  auto m = make(response_type);
  set(*m, "namespace_info.name", name);
  set(*m, "namespace_info.description", "bad \xff byte");
  return bytes_of(*m);
}

grpc::Status call(const std::string& address, const std::string& method, const std::string& request) {
  rpc::blocking_bidi call(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()), method, 10s);
  call.write(request);
  call.writes_done();
  std::string response;
  while (call.read(response)) {
  }
  return call.finish();
}

// The sum of the samples of `name` whose labels include every `wanted` pair, from /metrics.
double scraped(int port, const std::string& name, const std::map<std::string, std::string>& wanted) {
  auto reply = http_get(port, "/metrics");
  EXPECT_TRUE(reply);
  if (!reply)
    return -1;
  double sum = 0;
  std::size_t at = 0;
  while ((at = reply->body.find("\n" + name + "{", at)) != std::string::npos) {
    auto end = reply->body.find('\n', at + 1);
    auto line = reply->body.substr(at + 1, end - at - 1);
    at = end;
    bool all = true;
    for (const auto& [key, value] : wanted)
      all = all && line.find(key + "=\"" + value + "\"") != std::string::npos;
    if (all)
      sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

TEST(TranslationMetrics, MessagesChangesAndRefusalsMoveByExactlyTheCallsMade) {
  constexpr int calls = 5;
  temporal_server cluster_a({});
  temporal_server cluster_b({});
  cluster_b.answer(describe_namespace, {describe_response("orders.acct42")});
  auto connection = test_connection();
  auto endpoints = tcp_connection(connection.name, cluster_a.port(), cluster_b.port());
  connection.local = endpoints.local;
  connection.remote = endpoints.remote;
  config::acl_policy acl;
  acl.allowed_admin_methods = std::vector<std::string>{"DescribeCluster"};
  connection.acl = acl;
  config::config config;
  config.cluster_connections.push_back(connection);
  config.translation.descriptor_set_path = S2S_TEMPORAL_DESCRIPTORS_FILE;

  auto metrics = std::make_shared<metrics::proxy_metrics>();
  metrics->declare(config);
  auto served = metrics::serve_metrics({"127.0.0.1", 0}, metrics);
  ASSERT_TRUE(std::holds_alternative<metrics::metrics_exposer>(served));
  int port = std::get<0>(served)->GetListeningPorts().front();
  actors::proxy_options options;
  options.observe_translation = metrics->translation.observer();
  proxy_process proxy(config, options);
  auto outbound = proxy.address(connection.name + " outbound");
  auto inbound = proxy.address(connection.name + " inbound");

  // The first call that gets through had the schema; earlier ones waited for it untranslated.
  for (auto until = std::chrono::steady_clock::now() + 30s;;) {
    auto status = call(outbound, describe_namespace, describe_request("orders"));
    if (status.ok() || std::chrono::steady_clock::now() > until)
      break;
    std::this_thread::sleep_for(50ms);
  }
  std::map<std::string, std::string> outbound_request{
      {"connection", connection.name}, {"direction", "outbound"}, {"message_type", request_type}};
  std::map<std::string, std::string> outbound_response = outbound_request;
  outbound_response["message_type"] = response_type;
  auto base = [&](const std::string& name, std::map<std::string, std::string> labels) {
    return scraped(port, name, labels);
  };
  auto with = [](std::map<std::string, std::string> labels, const std::string& key, const std::string& value) {
    labels[key] = value;
    return labels;
  };
  double requests_before = base("s2s_proxy_translation_messages_total", with(outbound_request, "result", "rewritten"));
  double names_before = base("s2s_proxy_translation_changes_total", with(outbound_request, "kind", "namespace"));
  double repairs_before = base("s2s_proxy_translation_changes_total", with(outbound_response, "kind", "utf8_repair"));
  double timed_before = base("s2s_proxy_translation_duration_seconds_count", outbound_request);
  ASSERT_GE(requests_before, 1);

  for (int i = 0; i < calls; ++i)
    ASSERT_TRUE(call(outbound, describe_namespace, describe_request("orders")).ok());
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(call(inbound, describe_mutable_state, "").error_code(), grpc::StatusCode::PERMISSION_DENIED);

  EXPECT_EQ(base("s2s_proxy_translation_messages_total", with(outbound_request, "result", "rewritten")),
            requests_before + calls);
  // Each request renames one namespace; each response renames one back and repairs one string.
  EXPECT_EQ(base("s2s_proxy_translation_changes_total", with(outbound_request, "kind", "namespace")),
            names_before + calls);
  EXPECT_EQ(base("s2s_proxy_translation_changes_total", with(outbound_response, "kind", "utf8_repair")),
            repairs_before + calls);
  EXPECT_EQ(base("s2s_proxy_translation_changes_total", with(outbound_request, "kind", "search_attribute")), 0);
  EXPECT_EQ(base("s2s_proxy_translation_duration_seconds_count", outbound_request), timed_before + calls);
  EXPECT_EQ(base("s2s_proxy_acl_denied_total", {{"direction", "inbound"}, {"reason", "method"}}), 2);
  EXPECT_EQ(base("s2s_proxy_acl_denied_total", {{"direction", "outbound"}}), 0);
  EXPECT_EQ(base("s2s_proxy_translation_errors_total", {}), 0);
  EXPECT_TRUE(cluster_a.requests(describe_mutable_state).empty());
}

TEST(TranslationMetrics, MappedStreamsAreCountedPerRealShardPairAndDirection) {
  prometheus::Registry registry;
  metrics::translation_metrics families(registry);
  auto observer = families.observer();
  observer->stream_mapped("a-to-b", translation::side::outbound, {1, 2});
  observer->stream_mapped("a-to-b", translation::side::outbound, {1, 2});
  observer->stream_mapped("a-to-b", translation::side::inbound, {2, 1});
  auto value = [&](const char* direction, const char* client, const char* server) {
    return families.streams_mapped
        .Add({{"connection", "a-to-b"}, {"direction", direction}, {"client_shard", client}, {"server_shard", server}})
        .Value();
  };
  EXPECT_EQ(value("outbound", "1", "2"), 2);
  EXPECT_EQ(value("inbound", "2", "1"), 1);
  EXPECT_EQ(value("inbound", "1", "2"), 0);
}

}  // namespace
}  // namespace s2s::testing
