// Supervision in the running binary: the schema actor and an upstream actor killed under load (the test hook
// S2S_TEST_HOOK_KILL_ON_SIGUSR2) come back; the replication streams in flight on either side carry on to
// their end, the calls on the other side never fail, and the calls to the restarted upstream succeed again.
#include <signal.h>

#include <atomic>
#include <thread>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include "describe_calls.hpp"
#include "http/http_client.hpp"
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

const std::string replication_stream =
    "/temporal.server.api.adminservice.v1.AdminService/StreamWorkflowReplicationMessages";

std::string stream_request(int watermark) {
  auto m = make("temporal.server.api.adminservice.v1.StreamWorkflowReplicationMessagesRequest");
  set_int(*m, "sync_replication_state.inclusive_low_watermark", watermark);
  return bytes_of(*m);
}

std::string stream_response(int task_id) {
  auto m = make("temporal.server.api.adminservice.v1.StreamWorkflowReplicationMessagesResponse");
  pb::Message& task = add(*m, "messages.replication_tasks");
  set_enum(task, "task_type", "REPLICATION_TASK_TYPE_HISTORY_V2_TASK");
  set_int(task, "source_task_id", task_id);
  set(task, "history_task_attributes.namespace_id", orders_id);
  return bytes_of(*m);
}

std::shared_ptr<grpc::Channel> channel_to(int port) {
  return grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
}

std::size_t occurrences(const std::string& text, const std::string& part) {
  std::size_t count = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size()))
    ++count;
  return count;
}

// A replication stream through the proxy, kept open across the kills: one request and response at a time.
class open_stream {
 public:
  explicit open_stream(int port) : call_(channel_to(port), replication_stream, 60s) {}
  // Sends request `task` and reads its response; the response, or why the stream broke.
  std::string exchange(int task) {
    std::string response;
    if (!call_.write(stream_request(task)) || !call_.read(response))
      return "broken: " + call_.finish().error_message();
    return response;
  }
  grpc::Status finish() {
    call_.writes_done();
    std::string rest;
    while (call_.read(rest)) {
    }
    return call_.finish();
  }

 private:
  rpc::blocking_bidi call_;
};

// Every answer a stream of four exchanges gets: tasks 1 to 4.
std::vector<std::string> four_batches() {
  std::vector<std::string> batches;
  for (int task = 1; task <= 4; ++task)
    batches.push_back(stream_response(task));
  return batches;
}

TEST(Supervision, KilledSchemaAndUpstreamActorsComeBackUnderLoadWhileTheCallsInFlightComplete) {
  temp_dir scratch;
  // The local frontend serves the schema by reflection; translation needs it on both sides.
  temporal_server local_frontend({read_file(S2S_TEMPORAL_DESCRIPTORS_FILE)});
  temporal_server remote_frontend({});
  local_frontend.answer(describe_namespace, {""});
  remote_frontend.answer(describe_namespace, {""});
  local_frontend.answer(replication_stream, four_batches());
  remote_frontend.answer(replication_stream, four_batches());
  int outbound = free_loopback_port(), inbound = free_loopback_port(), metrics = free_loopback_port();
  auto address = [](int port) { return "\"127.0.0.1:" + std::to_string(port) + "\""; };
  auto config = scratch / "proxy.yaml";
  write_file(config,
             "clusterConnections:\n"
             "  - name: sup\n"
             "    local:\n"
             "      connectionType: tcp\n"
             "      tcpClient: { address: " +
                 address(local_frontend.port()) + " }\n      tcpServer: { address: " + address(outbound) +
                 " }\n"
                 "    remote:\n"
                 "      connectionType: tcp\n"
                 "      tcpClient: { address: " +
                 address(remote_frontend.port()) + " }\n      tcpServer: { address: " + address(inbound) +
                 " }\n"
                 "    namespaceTranslation:\n"
                 "      mappings: [{ local: orders, remote: orders.acct42 }]\n"
                 "metrics:\n"
                 "  prometheus: { listenAddress: " +
                 address(metrics) + " }\n");
  process proxy({{S2S_PROXY_BINARY, "start", "--config", config.string()},
                 {{"S2S_TEST_HOOK_KILL_ON_SIGUSR2", "schema,sup outbound upstream"}},
                 scratch / "proxy.log",
                 {}});
  ASSERT_TRUE(proxy.wait_for_output("ready", 30s)) << proxy.output();
  ASSERT_TRUE(describe_until_served(outbound, "orders").ok()) << proxy.output();
  ASSERT_TRUE(describe_until_served(inbound, "orders.acct42").ok()) << proxy.output();
  auto reflected = local_frontend.reflection_requests();

  // In flight: a stream on each side, half way through.
  open_stream going_out(outbound), coming_in(inbound);
  for (int task = 1; task <= 2; ++task) {
    EXPECT_EQ(going_out.exchange(task), stream_response(task)) << task;
    EXPECT_EQ(coming_in.exchange(task), stream_response(task)) << task;
  }
  // Under load: calls on the side whose upstream stays, without a pause.
  std::atomic<bool> loading{true};
  std::atomic<int> served{0}, failed{0};
  std::string first_failure;
  std::thread load([&] {
    while (loading) {
      auto status = describe(inbound, "orders.acct42");
      if (status.ok()) {
        ++served;
      } else if (failed++ == 0) {
        first_failure = status.error_message();
      }
    }
  });
  while (served < 5)
    std::this_thread::sleep_for(10ms);

  proxy.send_signal(SIGUSR2);
  ASSERT_TRUE(proxy.wait_for_output("sup outbound upstream: the upstream was restarted", 30s)) << proxy.output();
  ASSERT_TRUE(proxy.wait_for_output("the schema actor was restarted", 30s)) << proxy.output();
  // The new schema actor loads the schema again, by reflection, for the same translators.
  auto until = std::chrono::steady_clock::now() + 30s;
  while (occurrences(proxy.output(), "loaded the Temporal schema") < 2 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(occurrences(proxy.output(), "loaded the Temporal schema"), 2u) << proxy.output();
  EXPECT_GT(local_frontend.reflection_requests(), reflected);

  // New calls to the restarted upstream succeed, translated as before.
  auto before = remote_frontend.requests(describe_namespace).size();
  EXPECT_TRUE(describe_until_served(outbound, "orders").ok()) << proxy.output();
  auto sent = remote_frontend.requests(describe_namespace);
  ASSERT_GT(sent.size(), before);
  EXPECT_NE(sent.back().find("orders.acct42"), std::string::npos);

  auto more = served.load();
  while (served < more + 5)
    std::this_thread::sleep_for(10ms);
  loading = false;
  load.join();
  EXPECT_EQ(failed, 0) << "the first failure: " << first_failure;

  // The streams in flight carry on to their end.
  for (int task = 3; task <= 4; ++task) {
    EXPECT_EQ(going_out.exchange(task), stream_response(task)) << task;
    EXPECT_EQ(coming_in.exchange(task), stream_response(task)) << task;
  }
  auto out_status = going_out.finish();
  auto in_status = coming_in.finish();
  EXPECT_TRUE(out_status.ok()) << out_status.error_message();
  EXPECT_TRUE(in_status.ok()) << in_status.error_message();

  // Each restart that took is counted once, by kind.
  auto scraped = http_get(metrics, "/metrics");
  ASSERT_TRUE(scraped);
  EXPECT_NE(scraped->body.find("s2s_proxy_actor_restarts_total{kind=\"schema\"} 1\n"), std::string::npos)
      << scraped->body;
  EXPECT_NE(scraped->body.find("s2s_proxy_actor_restarts_total{kind=\"upstream\"} 1\n"), std::string::npos)
      << scraped->body;
  EXPECT_NE(scraped->body.find("s2s_proxy_actor_restarts_total{kind=\"listener\"} 0\n"), std::string::npos)
      << scraped->body;
  EXPECT_EQ(proxy.stop(), 0) << proxy.output();
}

}  // namespace
}  // namespace s2s::testing
