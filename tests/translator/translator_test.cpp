// Translation inside the running proxy (TCP mode): the schema loaded by reflection or from a file,
// calls and replication streams renamed on the wire, malformed messages and ACL refusals.
#include <thread>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include "actors/translator.hpp"
#include "proxy/proxy_harness.hpp"
#include "rpc/blocking_bidi.hpp"
#include "support/ports.hpp"
#include "support/temporal_server.hpp"
#include "temporal_messages.hpp"

namespace s2s::testing {
namespace {

using namespace std::chrono_literals;
using namespace s2s::translation::testing;

const std::string workflow_service = "/temporal.api.workflowservice.v1.WorkflowService/";
const std::string admin_service = "/temporal.server.api.adminservice.v1.AdminService/";
const std::string describe_namespace = workflow_service + "DescribeNamespace";
const std::string replication_stream = admin_service + "StreamWorkflowReplicationMessages";
const std::string health_check = "/grpc.health.v1.Health/Check";

std::string describe_request(const names& n, std::string_view local = "orders") {
  auto m = make("temporal.api.workflowservice.v1.DescribeNamespaceRequest");
  set(*m, "namespace", n.ns(local));
  return bytes_of(*m);
}

std::string describe_response(const names& n) {
  auto m = make("temporal.api.workflowservice.v1.DescribeNamespaceResponse");
  set(*m, "namespace_info.name", n.ns("orders"));
  set(*m, "namespace_info.id", orders_id);
  set(*m, "namespace_info.description", "orders of account 42");
  return bytes_of(*m);
}

std::string stream_request(int watermark) {
  auto m = make("temporal.server.api.adminservice.v1.StreamWorkflowReplicationMessagesRequest");
  set_int(*m, "sync_replication_state.inclusive_low_watermark", watermark);
  set_int(*m, "sync_replication_state.inclusive_low_watermark_time.seconds", 1700000000 + watermark);
  return bytes_of(*m);
}

// A replication batch: a history task whose events blob names namespaces inside its history.
std::string stream_response(const names& n, int task_id) {
  auto history = make("temporal.api.history.v1.History");
  pb::Message& started = add(*history, "events");
  set_int(started, "event_id", 1);
  set_enum(started, "event_type", "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED");
  set(started, "workflow_execution_started_event_attributes.workflow_type.name", "ProcessOrder");
  set(started, "workflow_execution_started_event_attributes.parent_workflow_namespace", n.ns("billing"));
  set(started, "workflow_execution_started_event_attributes.parent_workflow_namespace_id", billing_id);
  pb::Message& child = add(*history, "events");
  set_int(child, "event_id", 2);
  set_enum(child, "event_type", "EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED");
  set(child, "start_child_workflow_execution_initiated_event_attributes.namespace", n.ns("orders"));
  set(child, "start_child_workflow_execution_initiated_event_attributes.workflow_id",
      "ship-" + std::to_string(task_id));

  auto m = make("temporal.server.api.adminservice.v1.StreamWorkflowReplicationMessagesResponse");
  pb::Message& task = add(*m, "messages.replication_tasks");
  set_enum(task, "task_type", "REPLICATION_TASK_TYPE_HISTORY_V2_TASK");
  set_int(task, "source_task_id", task_id);
  set(task, "history_task_attributes.namespace_id", orders_id);
  set(task, "history_task_attributes.workflow_id", "order-" + std::to_string(task_id));
  set_history_blob(at(task, "history_task_attributes.events"), *history);
  set_int(*m, "messages.exclusive_high_watermark", task_id + 1);
  return bytes_of(*m);
}

struct outcome {
  grpc::Status status;
  std::vector<std::string> responses;
};

std::shared_ptr<grpc::Channel> channel_to(const std::string& address) {
  return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
}

// Sends every request, half-closes and reads every response.
outcome call(const std::string& address, const std::string& method, const std::vector<std::string>& requests,
             const recorded_metadata& metadata = {}) {
  rpc::blocking_bidi call(channel_to(address), method, 10s, metadata);
  for (const auto& request : requests)
    if (!call.write(request))
      break;
  call.writes_done();
  outcome result;
  std::string response;
  while (call.read(response))
    result.responses.push_back(response);
  result.status = call.finish();
  return result;
}

bool waits_for_schema(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE &&
         status.error_message().find("schema is not loaded yet") != std::string::npos;
}

// Calls until the proxy has its schema (bounded), and returns the first answer that did not wait for it.
outcome call_once_schema_loaded(const std::string& address, const std::string& method,
                                const std::vector<std::string>& requests, const recorded_metadata& metadata = {}) {
  auto until = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    auto result = call(address, method, requests, metadata);
    if (!waits_for_schema(result.status) || std::chrono::steady_clock::now() > until)
      return result;
    std::this_thread::sleep_for(50ms);
  }
}

std::string descriptors() { return temporal_descriptor_bytes(); }

// test_connection()'s mappings, between a local frontend and a remote side on loopback.
config::cluster_connection translated_connection(int local_frontend, int remote) {
  auto connection = test_connection();
  auto endpoints = tcp_connection(connection.name, local_frontend, remote);
  connection.local = endpoints.local;
  connection.remote = endpoints.remote;
  return connection;
}

config::config config_of(config::cluster_connection connection) {
  config::config config;
  config.cluster_connections.push_back(std::move(connection));
  return config;
}

std::string outbound(const proxy_process& proxy, const config::config& config) {
  return proxy.address(config.cluster_connections[0].name + " outbound");
}
std::string inbound(const proxy_process& proxy, const config::config& config) {
  return proxy.address(config.cluster_connections[0].name + " inbound");
}

TEST(TranslatorProxy, UnaryCallIsTranslatedBothWaysWithTheSchemaLoadedByReflection) {
  // Only v1alpha: the proxy asks for v1 first and falls back.
  temporal_server cluster_a({.descriptor_set = descriptors(), .reflection_v1 = false});
  temporal_server cluster_b({});
  cluster_b.answer(describe_namespace, {describe_response(remote_names)});
  auto config = config_of(translated_connection(cluster_a.port(), cluster_b.port()));
  proxy_process proxy(config);

  auto result = call_once_schema_loaded(outbound(proxy, config), describe_namespace, {describe_request(local_names)});
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  ASSERT_EQ(result.responses.size(), 1u);
  EXPECT_EQ(first_difference(result.responses[0], describe_response(local_names)), "");
  auto seen = cluster_b.requests(describe_namespace);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(first_difference(seen.back(), describe_request(remote_names)), "");
  EXPECT_GT(cluster_a.reflection_requests(), 0u);
}

TEST(TranslatorProxy, SchemaComesFromTheConfiguredFileWithoutAskingTheFrontend) {
  temporal_server cluster_a({.descriptor_set = descriptors()});
  temporal_server cluster_b({});
  cluster_b.answer(describe_namespace, {describe_response(remote_names)});
  auto config = config_of(translated_connection(cluster_a.port(), cluster_b.port()));
  config.translation.descriptor_set_path = S2S_TEMPORAL_DESCRIPTORS_FILE;
  proxy_process proxy(config);

  auto result = call_once_schema_loaded(outbound(proxy, config), describe_namespace, {describe_request(local_names)});
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  ASSERT_EQ(result.responses.size(), 1u);
  EXPECT_EQ(first_difference(result.responses[0], describe_response(local_names)), "");
  EXPECT_EQ(cluster_a.reflection_requests(), 0u);
}

TEST(TranslatorProxy, BeforeTheSchemaOnlyCallsNeedingItWaitAndTheFrontendIsRetried) {
  int frontend_port = free_loopback_port();  // nothing listens here yet
  temporal_server cluster_b({});
  cluster_b.answer(describe_namespace, {describe_response(remote_names)});
  cluster_b.answer(health_check, {""});
  auto config = config_of(translated_connection(frontend_port, cluster_b.port()));
  proxy_process proxy(config);

  auto waiting = call(outbound(proxy, config), describe_namespace, {describe_request(local_names)});
  EXPECT_EQ(waiting.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(waits_for_schema(waiting.status)) << waiting.status.error_message();
  EXPECT_NE(waiting.status.error_message().find("DescribeNamespace"), std::string::npos);
  EXPECT_TRUE(cluster_b.requests(describe_namespace).empty());

  auto untouched = call(outbound(proxy, config), health_check, {"\x0a\x03\x61\x62\x63"});
  ASSERT_TRUE(untouched.status.ok()) << untouched.status.error_message();
  ASSERT_EQ(cluster_b.requests(health_check).size(), 1u);
  EXPECT_EQ(cluster_b.requests(health_check)[0], "\x0a\x03\x61\x62\x63");

  // The frontend comes up; the proxy's retries find it.
  temporal_server cluster_a({.descriptor_set = descriptors(), .port = frontend_port});
  auto result = call_once_schema_loaded(outbound(proxy, config), describe_namespace, {describe_request(local_names)});
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(first_difference(cluster_b.requests(describe_namespace).back(), describe_request(remote_names)), "");
}

TEST(TranslatorProxy, Utf8RepairAloneDoesNotHoldCallsBackBeforeTheSchema) {
  int frontend_port = free_loopback_port();
  temporal_server cluster_b({});
  auto config = config_of(tcp_connection("plain", frontend_port, cluster_b.port()));
  ASSERT_TRUE(config.cluster_connections[0].repair_utf8);
  proxy_process proxy(config);
  auto m = make("temporal.api.workflowservice.v1.DescribeNamespaceRequest");
  set(*m, "namespace", "bad\xff");
  auto request = bytes_of(*m);
  cluster_b.answer(describe_namespace, {describe_response(local_names)});

  auto result = call(outbound(proxy, config), describe_namespace, {request});
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  ASSERT_EQ(cluster_b.requests(describe_namespace).size(), 1u);
  EXPECT_EQ(cluster_b.requests(describe_namespace)[0], request);  // passed unrepaired
}

TEST(TranslatorProxy, ReplicationStreamIsTranslatedMessageByMessageBothWays) {
  temporal_server cluster_a({.descriptor_set = descriptors()});
  temporal_server cluster_b({});
  cluster_a.answer(describe_namespace, {describe_response(local_names)});
  std::vector<std::string> answers, requests;
  for (int task = 1; task <= 3; ++task) {
    answers.push_back(stream_response(local_names, 100 + task));
    requests.push_back(stream_request(100 + task));
  }
  cluster_a.answer(replication_stream, answers);
  auto config = config_of(translated_connection(cluster_a.port(), cluster_b.port()));
  proxy_process proxy(config);
  ASSERT_TRUE(call_once_schema_loaded(inbound(proxy, config), describe_namespace, {describe_request(remote_names)})
                  .status.ok());

  // The remote side opens the stream inbound; each request is answered before the next is sent.
  rpc::blocking_bidi stream(channel_to(inbound(proxy, config)), replication_stream, 20s);
  for (int task = 1; task <= 3; ++task) {
    ASSERT_TRUE(stream.write(requests[task - 1])) << task;
    std::string response;
    ASSERT_TRUE(stream.read(response)) << task << ": " << stream.finish().error_message();
    EXPECT_EQ(first_difference(response, stream_response(remote_names, 100 + task)), "") << task;
  }
  stream.writes_done();
  std::string extra;
  EXPECT_FALSE(stream.read(extra));
  auto status = stream.finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(cluster_a.requests(replication_stream), requests);
}

TEST(TranslatorProxy, MalformedMessageEndsOnlyItsCall) {
  temporal_server cluster_a({.descriptor_set = descriptors()});
  temporal_server cluster_b({});
  cluster_a.answer(describe_namespace, {describe_response(local_names)});
  cluster_a.answer(replication_stream, {stream_response(local_names, 1), stream_response(local_names, 2)});
  auto config = config_of(translated_connection(cluster_a.port(), cluster_b.port()));
  proxy_process proxy(config);
  auto address = inbound(proxy, config);
  ASSERT_TRUE(call_once_schema_loaded(address, describe_namespace, {describe_request(remote_names)}).status.ok());

  rpc::blocking_bidi stream(channel_to(address), replication_stream, 20s);
  std::string response;
  ASSERT_TRUE(stream.write(stream_request(1)));
  ASSERT_TRUE(stream.read(response));

  // Field 1 (namespace) claims 5 bytes and carries 2.
  auto broken = call(address, describe_namespace, {std::string("\x0a\x05\x61\x62", 4)});
  EXPECT_EQ(broken.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(broken.status.error_message().find("DescribeNamespace"), std::string::npos)
      << broken.status.error_message();
  EXPECT_TRUE(broken.responses.empty());

  ASSERT_TRUE(stream.write(stream_request(2)));
  ASSERT_TRUE(stream.read(response));
  EXPECT_EQ(first_difference(response, stream_response(remote_names, 2)), "");
  stream.writes_done();
  auto status = stream.finish();
  EXPECT_TRUE(status.ok()) << status.error_message();

  auto after = call(address, describe_namespace, {describe_request(remote_names)});
  EXPECT_TRUE(after.status.ok()) << after.status.error_message();
}

TEST(TranslatorProxy, AclRefusesAnAdminMethodAndANamespaceByName) {
  temporal_server cluster_a({.descriptor_set = descriptors()});
  temporal_server cluster_b({});
  cluster_a.answer(describe_namespace, {describe_response(local_names)});
  cluster_a.answer(admin_service + "DescribeMutableState", {""});
  auto connection = translated_connection(cluster_a.port(), cluster_b.port());
  config::acl_policy acl;
  acl.allowed_admin_methods = std::vector<std::string>{"DescribeCluster", "StreamWorkflowReplicationMessages"};
  acl.allowed_namespaces = std::vector<std::string>{"orders"};
  connection.acl = acl;
  auto config = config_of(connection);
  proxy_process proxy(config);
  auto address = inbound(proxy, config);

  auto method = call(address, admin_service + "DescribeMutableState", {""});
  EXPECT_EQ(method.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(method.status.error_message().find("DescribeMutableState"), std::string::npos)
      << method.status.error_message();

  auto allowed = call_once_schema_loaded(address, describe_namespace, {describe_request(remote_names)});
  EXPECT_TRUE(allowed.status.ok()) << allowed.status.error_message();
  EXPECT_EQ(first_difference(cluster_a.requests(describe_namespace).back(), describe_request(local_names)), "");

  auto refused = call(address, describe_namespace, {describe_request(remote_names, "billing")});
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // Named as the caller named it.
  EXPECT_NE(refused.status.error_message().find("'billing.acct42'"), std::string::npos)
      << refused.status.error_message();
  EXPECT_EQ(cluster_a.requests(describe_namespace).size(), 1u);
  EXPECT_TRUE(cluster_a.requests(admin_service + "DescribeMutableState").empty());
}

// A NOT_FOUND as Temporal's frontend sends it for a namespace it does not have.
temporal_error namespace_not_found(const std::string& name) {
  auto failure = make("temporal.api.errordetails.v1.NamespaceNotFoundFailure");
  set(*failure, "namespace", name);
  std::string message = "Namespace " + name + " is not found.";
  return {5, message, status_bytes(5, message, {{failure->GetDescriptor()->full_name(), bytes_of(*failure)}})};
}

// The message of a status and the namespace of its one NamespaceNotFoundFailure detail.
void expect_not_found_naming(const grpc::Status& status, const std::string& name) {
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_NE(status.error_message().find(name), std::string::npos) << status.error_message();
  auto details = decode_status(status.error_details());
  ASSERT_EQ(details.details.size(), 1u);
  EXPECT_EQ(details.details[0].type, "temporal.api.errordetails.v1.NamespaceNotFoundFailure");
  EXPECT_EQ(field_of(details.details[0], "namespace"), name);
}

std::string value_of(const recorded_metadata& entries, const std::string& key) {
  for (const auto& [k, v] : entries)
    if (k == key)
      return v;
  return "(absent)";
}

TEST(TranslatorProxy, ErrorsOfEitherFrontendNameOnlyTheCallersNamespaces) {
  temporal_server cluster_a({.descriptor_set = descriptors()});
  temporal_server cluster_b({});
  cluster_a.fail(describe_namespace, namespace_not_found("orders"));          // local names
  cluster_b.fail(describe_namespace, namespace_not_found("billing.acct42"));  // remote names
  auto config = config_of(translated_connection(cluster_a.port(), cluster_b.port()));
  proxy_process proxy(config);

  // The remote side asks for orders.acct42, which cluster A does not have.
  auto from_remote =
      call_once_schema_loaded(inbound(proxy, config), describe_namespace, {describe_request(remote_names)});
  EXPECT_EQ(from_remote.status.error_message(), "Namespace orders.acct42 is not found.");
  expect_not_found_naming(from_remote.status, "orders.acct42");
  EXPECT_EQ(decode_status(from_remote.status.error_details()).message, "Namespace orders.acct42 is not found.");
  EXPECT_EQ(first_difference(cluster_a.requests(describe_namespace).back(), describe_request(local_names)), "");

  // The local side asks for billing; cluster B answers in its names.
  auto from_local =
      call_once_schema_loaded(outbound(proxy, config), describe_namespace, {describe_request(local_names, "billing")});
  EXPECT_EQ(from_local.status.error_message(), "Namespace billing is not found.");
  expect_not_found_naming(from_local.status, "billing");
}

TEST(TranslatorProxy, TheFrontendGetsTheNamespaceHeadersInItsOwnNames) {
  temporal_server cluster_a({.descriptor_set = descriptors()});
  temporal_server cluster_b({});
  cluster_a.answer(describe_namespace, {describe_response(local_names)});
  cluster_b.answer(describe_namespace, {describe_response(remote_names)});
  auto config = config_of(translated_connection(cluster_a.port(), cluster_b.port()));
  proxy_process proxy(config);

  // As the Go SDK sends them, from the remote side: the routing header, and the server's caller-name.
  recorded_metadata remote_headers = {
      {"temporal-namespace", "orders.acct42"}, {"caller-name", "orders.acct42"}, {"client-name", "temporal-go"}};
  auto in = call_once_schema_loaded(inbound(proxy, config), describe_namespace, {describe_request(remote_names)},
                                    remote_headers);
  ASSERT_TRUE(in.status.ok()) << in.status.error_message();
  auto seen_by_a = cluster_a.metadata(describe_namespace);
  ASSERT_FALSE(seen_by_a.empty());
  EXPECT_EQ(value_of(seen_by_a.back(), "temporal-namespace"), "orders");
  EXPECT_EQ(value_of(seen_by_a.back(), "caller-name"), "orders");
  EXPECT_EQ(value_of(seen_by_a.back(), "client-name"), "temporal-go");

  auto out = call(outbound(proxy, config), describe_namespace, {describe_request(local_names)},
                  {{"temporal-namespace", "orders"}});
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_EQ(value_of(cluster_b.metadata(describe_namespace).back(), "temporal-namespace"), "orders.acct42");
}

// shardCount lcm (docs/shard-counts.md): cluster A (local) has 2 shards, B 3; each is told the other has 6.
TEST(TranslatorProxy, LcmModeMapsTheShardIdsOfAReplicationStreamAndStillRenamesItsMessages) {
  temporal_server cluster_a({.descriptor_set = descriptors()});
  temporal_server cluster_b({});
  cluster_a.answer(describe_namespace, {describe_response(local_names)});
  cluster_b.answer(replication_stream, {stream_response(remote_names, 7)});
  auto connection = translated_connection(cluster_a.port(), cluster_b.port());
  connection.shards = {config::shard_count_mode::lcm, 2, 3};
  auto config = config_of(connection);
  proxy_process proxy(config);
  ASSERT_TRUE(call_once_schema_loaded(inbound(proxy, config), describe_namespace, {describe_request(remote_names)})
                  .status.ok());

  // A's shard 1 opens its stream to B's virtual shard 5, which is B's real shard 2.
  recorded_metadata opened = {{"temporal-client-cluster-id", "1"},
                              {"temporal-client-shard-id", "1"},
                              {"temporal-server-cluster-id", "2"},
                              {"temporal-server-shard-id", "5"}};
  auto out = call(outbound(proxy, config), replication_stream, {stream_request(3)}, opened);
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  ASSERT_EQ(out.responses.size(), 1u);
  EXPECT_EQ(first_difference(out.responses[0], stream_response(local_names, 7)), "");
  auto seen_by_b = cluster_b.metadata(replication_stream);
  ASSERT_EQ(seen_by_b.size(), 1u);
  EXPECT_EQ(value_of(seen_by_b[0], "temporal-client-shard-id"), "5");
  EXPECT_EQ(value_of(seen_by_b[0], "temporal-server-shard-id"), "2");
  EXPECT_EQ(value_of(seen_by_b[0], "temporal-client-cluster-id"), "1");
  EXPECT_EQ(value_of(seen_by_b[0], "temporal-server-cluster-id"), "2");
  EXPECT_EQ(cluster_b.requests(replication_stream), std::vector<std::string>{stream_request(3)});

  // A shard A does not have: refused before B sees it, saying what to check.
  opened[1].second = "3";
  auto refused = call(outbound(proxy, config), replication_stream, {stream_request(3)}, opened);
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(refused.status.error_message().find("client shard 3 and server shard 5"), std::string::npos)
      << refused.status.error_message();
  EXPECT_EQ(cluster_b.metadata(replication_stream).size(), 1u);
}

// Overrides need the schema's types; before it loads they must not spoil the method checks, nor a reload.
TEST(TranslatorSettings, OverridesNeedingTheSchemaLeaveSettingsBuildableBeforeIt) {
  auto connection = test_connection();
  connection.shards = {config::shard_count_mode::lcm, 2, 3};
  connection.failover_version_increment_translation = config::failover_version_increment{100, 1000000};
  actors::translator outbound_side(connection, translation::side::outbound, "a descriptor-set file");
  EXPECT_EQ(actors::translator::reconfigure({&outbound_side}, connection), "");
}

TEST(TranslatorProxy, TheRemoteSideSeesOnlyRemoteNames) {
  temporal_server cluster_a({.descriptor_set = descriptors()});
  temporal_server cluster_b({});
  cluster_a.answer(describe_namespace, {describe_response(local_names)});
  auto list = make("temporal.api.workflowservice.v1.ListNamespacesResponse");
  for (std::string name : {"orders", "billing", "payments"})
    set(add(*list, "namespaces"), "namespace_info.name", name);
  cluster_a.answer(workflow_service + "ListNamespaces", {bytes_of(*list)});
  auto connection = translated_connection(cluster_a.port(), cluster_b.port());
  config::acl_policy acl;
  acl.allowed_namespaces = std::vector<std::string>{"orders.acct42", "payments"};  // either spelling
  connection.acl = acl;
  auto config = config_of(connection);
  proxy_process proxy(config);
  auto address = inbound(proxy, config);

  // The local name of a mapping does not exist for the remote side: NOT_FOUND, naming what the caller used.
  auto local_name = call_once_schema_loaded(address, describe_namespace, {describe_request(local_names)});
  EXPECT_NE(local_name.status.error_message().find("'orders'"), std::string::npos) << local_name.status.error_message();
  expect_not_found_naming(local_name.status, "orders");
  EXPECT_TRUE(cluster_a.requests(describe_namespace).empty());
  auto by_header =
      call(address, describe_namespace, {describe_request(remote_names)}, {{"temporal-namespace", "orders"}});
  expect_not_found_naming(by_header.status, "orders");
  EXPECT_TRUE(cluster_a.requests(describe_namespace).empty());

  auto remote_name = call(address, describe_namespace, {describe_request(remote_names)});
  ASSERT_TRUE(remote_name.status.ok()) << remote_name.status.error_message();
  ASSERT_EQ(remote_name.responses.size(), 1u);
  EXPECT_EQ(first_difference(remote_name.responses[0], describe_response(remote_names)), "");

  // ListNamespaces lists only the allowed namespaces, by their remote names.
  auto listed = call(address, workflow_service + "ListNamespaces", {""});
  ASSERT_TRUE(listed.status.ok()) << listed.status.error_message();
  ASSERT_EQ(listed.responses.size(), 1u);
  auto expected = make("temporal.api.workflowservice.v1.ListNamespacesResponse");
  for (std::string name : {"orders.acct42", "payments"}) {
    set(add(*expected, "namespaces"), "namespace_info.name", name);
  }
  EXPECT_EQ(first_difference(listed.responses[0], bytes_of(*expected)), "")
      << describe("temporal.api.workflowservice.v1.ListNamespacesResponse", listed.responses[0]);
}

}  // namespace
}  // namespace s2s::testing
