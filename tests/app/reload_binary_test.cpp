// SIGHUP on the running binary: a changed namespace mapping and access policy apply to the next call,
// while a replication stream opened before stays open and keeps the translation it started with.
#include <signal.h>

#include <thread>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include "rpc/blocking_bidi.hpp"
#include "support/files.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/temporal_server.hpp"
#include "temporal_messages.hpp"

namespace s2s::testing {
namespace {

using namespace std::chrono_literals;
using namespace s2s::translation::testing;

const std::string describe_namespace = "/temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace";
const std::string admin_service = "/temporal.server.api.adminservice.v1.AdminService/";
const std::string replication_stream = admin_service + "StreamWorkflowReplicationMessages";

std::string describe_request(std::string_view name) {
  auto m = make("temporal.api.workflowservice.v1.DescribeNamespaceRequest");
  set(*m, "namespace", name);
  return bytes_of(*m);
}

std::string namespace_of(const std::string& describe_request_bytes) {
  auto m = make("temporal.api.workflowservice.v1.DescribeNamespaceRequest");
  EXPECT_TRUE(m->ParseFromString(describe_request_bytes));
  return m->GetReflection()->GetString(*m, m->GetDescriptor()->FindFieldByName("namespace"));
}

std::string stream_request(int watermark) {
  auto m = make("temporal.server.api.adminservice.v1.StreamWorkflowReplicationMessagesRequest");
  set_int(*m, "sync_replication_state.inclusive_low_watermark", watermark);
  return bytes_of(*m);
}

// A replication batch whose history names the namespace a child workflow starts in.
std::string stream_response(std::string_view child_namespace, int task_id) {
  auto history = make("temporal.api.history.v1.History");
  pb::Message& child = add(*history, "events");
  set_int(child, "event_id", 1);
  set_enum(child, "event_type", "EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED");
  set(child, "start_child_workflow_execution_initiated_event_attributes.namespace", child_namespace);
  auto m = make("temporal.server.api.adminservice.v1.StreamWorkflowReplicationMessagesResponse");
  pb::Message& task = add(*m, "messages.replication_tasks");
  set_enum(task, "task_type", "REPLICATION_TASK_TYPE_HISTORY_V2_TASK");
  set_int(task, "source_task_id", task_id);
  set(task, "history_task_attributes.namespace_id", orders_id);
  set_history_blob(at(task, "history_task_attributes.events"), *history);
  return bytes_of(*m);
}

std::shared_ptr<grpc::Channel> channel_to(int port) {
  return grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
}

struct answer {
  grpc::Status status;
  std::vector<std::string> responses;
};

answer call(int port, const std::string& method, const std::string& request) {
  rpc::blocking_bidi call(channel_to(port), method, 10s);
  call.write(request);
  call.writes_done();
  answer result;
  std::string response;
  while (call.read(response))
    result.responses.push_back(response);
  result.status = call.finish();
  return result;
}

// Calls until the proxy has loaded its schema (bounded).
answer call_once_translating(int port, const std::string& method, const std::string& request) {
  auto until = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    auto result = call(port, method, request);
    if (result.status.error_code() != grpc::StatusCode::UNAVAILABLE || std::chrono::steady_clock::now() > until)
      return result;
    std::this_thread::sleep_for(50ms);
  }
}

struct ports {
  int outbound = free_loopback_port();
  int inbound = free_loopback_port();
};

// `remote_name` is what "orders" is called on the remote side; `extra` is appended to the connection.
std::string config_text(const ports& at, int local_frontend, int remote_frontend, const std::string& remote_name,
                        const std::string& extra = "") {
  auto address = [](int port) { return "\"127.0.0.1:" + std::to_string(port) + "\""; };
  return "clusterConnections:\n"
         "  - name: reload\n"
         "    local:\n"
         "      connectionType: tcp\n"
         "      tcpClient: { address: " +
         address(local_frontend) +
         " }\n"
         "      tcpServer: { address: " +
         address(at.outbound) +
         " }\n"
         "    remote:\n"
         "      connectionType: tcp\n"
         "      tcpClient: { address: " +
         address(remote_frontend) +
         " }\n"
         "      tcpServer: { address: " +
         address(at.inbound) +
         " }\n"
         "    namespaceTranslation:\n"
         "      mappings:\n"
         "        - { local: orders, remote: \"" +
         remote_name + "\" }\n" + extra +
         "translation:\n"
         "  descriptorSetPath: \"" S2S_TEMPORAL_DESCRIPTORS_FILE "\"\n";
}

class Reload : public ::testing::Test {
 protected:
  temp_dir scratch;
  ports at;
  temporal_server cluster_a{{}};
  temporal_server cluster_b{{}};
  std::filesystem::path config = scratch / "proxy->yaml";

  void write_config(const std::string& remote_name, const std::string& extra = "") {
    write_file(config, config_text(at, cluster_a.port(), cluster_b.port(), remote_name, extra));
  }

  std::unique_ptr<process> start() {
    auto proxy = std::make_unique<process>(
        process_options{{S2S_PROXY_BINARY, "start", "--config", config.string()}, {}, scratch / "proxy->log", {}});
    EXPECT_TRUE(proxy->wait_for_output("ready", 30s)) << proxy->output();
    return proxy;
  }

  // What the remote frontend was asked for the last time a DescribeNamespace of "orders" went out.
  std::string name_sent_for_orders() {
    auto result = call_once_translating(at.outbound, describe_namespace, describe_request("orders"));
    EXPECT_TRUE(result.status.ok()) << result.status.error_message();
    auto seen = cluster_b.requests(describe_namespace);
    return seen.empty() ? "" : namespace_of(seen.back());
  }
};

TEST_F(Reload, ChangedMappingAppliesToTheNextCallWhileAnOpenStreamStaysOpen) {
  cluster_b.answer(describe_namespace, {""});
  // Every response names the child's namespace as the remote side knew it before the reload.
  std::vector<std::string> batches;
  for (int task = 1; task <= 4; ++task)
    batches.push_back(stream_response("orders.acct42", task));
  cluster_b.answer(replication_stream, batches);
  write_config("orders.acct42");
  auto proxy = start();
  ASSERT_EQ(name_sent_for_orders(), "orders.acct42");

  // The local side opens a replication stream out; each batch comes back in local names.
  rpc::blocking_bidi stream(channel_to(at.outbound), replication_stream, 60s);
  std::string response;
  for (int task = 1; task <= 2; ++task) {
    ASSERT_TRUE(stream.write(stream_request(task)));
    ASSERT_TRUE(stream.read(response)) << stream.finish().error_message();
    EXPECT_EQ(first_difference(response, stream_response("orders", task)), "") << task;
  }

  write_config("orders.acct99");
  proxy->send_signal(SIGHUP);
  ASSERT_TRUE(proxy->wait_for_output("namespaceTranslation applied", 10s)) << proxy->output();
  EXPECT_EQ(name_sent_for_orders(), "orders.acct99");

  // The stream is still open, and renames as it did when it started.
  for (int task = 3; task <= 4; ++task) {
    ASSERT_TRUE(stream.write(stream_request(task))) << task;
    ASSERT_TRUE(stream.read(response)) << task << ": " << stream.finish().error_message();
    EXPECT_EQ(first_difference(response, stream_response("orders", task)), "") << task;
  }
  stream.writes_done();
  auto status = stream.finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(cluster_b.requests(replication_stream).size(), 4u);

  // A stream opened now uses the new mapping: "orders.acct42" is no longer a remote name.
  auto fresh = call(at.outbound, replication_stream, stream_request(5));
  ASSERT_TRUE(fresh.status.ok()) << fresh.status.error_message();
  ASSERT_FALSE(fresh.responses.empty());
  EXPECT_EQ(first_difference(fresh.responses[0], stream_response("orders.acct42", 1)), "");
  EXPECT_EQ(proxy->stop(), 0) << proxy->output();
}

TEST_F(Reload, AclChangesApplyAndChangesNeedingARestartAreReportedAndLeftAlone) {
  cluster_a.answer(admin_service + "DescribeMutableState", {""});
  cluster_b.answer(describe_namespace, {""});
  write_config("orders.acct42");
  auto proxy = start();
  auto allowed = call_once_translating(at.inbound, admin_service + "DescribeMutableState", "");
  ASSERT_TRUE(allowed.status.ok()) << allowed.status.error_message();

  // Refuse every admin method but DescribeCluster, and point the remote side elsewhere.
  auto config_now = config_text(at, cluster_a.port(), free_loopback_port(), "orders.acct42",
                                "    aclPolicy:\n"
                                "      allowedMethods:\n"
                                "        adminService: [DescribeCluster]\n");
  write_file(config, config_now);
  proxy->send_signal(SIGHUP);
  ASSERT_TRUE(proxy->wait_for_output("aclPolicy applied", 10s)) << proxy->output();
  ASSERT_TRUE(proxy->wait_for_output("'reload': remote changed; that needs a restart; left as it runs", 10s))
      << proxy->output();

  auto refused = call(at.inbound, admin_service + "DescribeMutableState", "");
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << refused.status.error_message();
  EXPECT_EQ(cluster_a.requests(admin_service + "DescribeMutableState").size(), 1u);
  // Outbound calls still reach the remote frontend the proxy started with.
  EXPECT_EQ(name_sent_for_orders(), "orders.acct42");

  // A broken file changes nothing, and the proxy keeps serving.
  write_file(config, "clusterConnections: [\n");
  proxy->send_signal(SIGHUP);
  ASSERT_TRUE(proxy->wait_for_output("not reloaded", 10s)) << proxy->output();
  EXPECT_EQ(call(at.inbound, admin_service + "DescribeMutableState", "").status.error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(proxy->stop(), 0) << proxy->output();
}

}  // namespace
}  // namespace s2s::testing
