// The proxy's operator endpoints end to end: calls through the proxy in-process, then /metrics,
// /health and /debug/connections read over HTTP.
#include <map>
#include <thread>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "app/operations.hpp"
#include "http/http_client.hpp"
#include "proxy/proxy_harness.hpp"

namespace s2s::testing {
namespace {

using namespace std::chrono_literals;
using v1::EchoRequest;
using v1::EchoService;

constexpr const char* echo_service_name = "s2s.testing.v1.EchoService";

// One sample of the Prometheus text format: name, labels, value.
struct sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

std::vector<sample> parse_exposition(const std::string& text) {
  std::vector<sample> samples;
  std::size_t at = 0;
  while (at < text.size()) {
    auto end = text.find('\n', at);
    auto line = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
    at = end == std::string::npos ? text.size() : end + 1;
    if (line.empty() || line[0] == '#')
      continue;
    sample parsed;
    auto brace = line.find('{');
    auto space = line.rfind(' ');
    parsed.name = line.substr(0, std::min(brace, space));
    if (brace != std::string::npos) {
      auto close = line.rfind('}');
      auto labels = line.substr(brace + 1, close - brace - 1);
      std::size_t pos = 0;
      while (pos < labels.size()) {
        auto equals = labels.find('=', pos);
        auto quote_end = labels.find('"', equals + 2);
        parsed.labels[labels.substr(pos, equals - pos)] = labels.substr(equals + 2, quote_end - equals - 2);
        pos = quote_end + 2;  // past the quote and the comma
      }
    }
    parsed.value = std::stod(line.substr(space + 1));
    samples.push_back(std::move(parsed));
  }
  return samples;
}

// The proxy between two echo servers, with every operator endpoint on an ephemeral port.
class Operations : public ::testing::Test {
 protected:
  std::unique_ptr<echo_server> cluster_a = std::make_unique<echo_server>();
  echo_server cluster_b;
  caf::actor_system_config actor_config;
  std::unique_ptr<caf::actor_system> system;
  std::shared_ptr<metrics::proxy_metrics> metrics = std::make_shared<metrics::proxy_metrics>();
  config::config config;
  std::optional<actors::started_proxy> proxy;
  std::optional<app::operations> operations;
  actors::restart_settings restarts;

  void SetUp() override {
    config.cluster_connections.push_back(tcp_connection("a-to-b", cluster_a->port(), cluster_b.port()));
    config.cluster_connections[0].local_health_check = config::health_check{"http", {"127.0.0.1", 0}};
    config.cluster_connections[0].remote_health_check = config::health_check{"http", {"127.0.0.1", 0}};
    config.metrics_listen_address = config::address{"127.0.0.1", 0};
    config.pprof_address = config::address{"127.0.0.1", 0};
    actor_config.set("scheduler.max-threads", std::size_t{4});
    system = std::make_unique<caf::actor_system>(actor_config);
    actors::proxy_options options;
    options.observe_calls = [metrics = metrics](std::string_view endpoint) { return metrics->observe_calls(endpoint); };
    options.restarts = restarts;
    auto started = actors::start_proxy(*system, config, options);
    ASSERT_TRUE(std::holds_alternative<actors::started_proxy>(started)) << std::get<std::string>(started);
    proxy = std::get<actors::started_proxy>(std::move(started));
    app::operations_options operated_options;
    operated_options.translation = proxy->translation;
    auto operated = app::start_operations(*system, config, proxy->supervisor, metrics, operated_options);
    ASSERT_TRUE(std::holds_alternative<app::operations>(operated)) << std::get<std::string>(operated);
    operations = std::move(std::get<app::operations>(operated));
  }

  void TearDown() override {
    operations.reset();
    if (proxy) {
      caf::scoped_actor self{*system};
      self->request(proxy->supervisor, 30s, actors::stop_atom::value, 2000ms).receive([](bool) {}, [](caf::error&) {});
    }
  }

  std::string address(const std::string& endpoint) {
    for (const auto& served : proxy->report.endpoints)
      if (served.name == endpoint)
        return "127.0.0.1:" + std::to_string(served.port);
    ADD_FAILURE() << "no endpoint " << endpoint;
    return {};
  }

  std::vector<sample> scrape() {
    auto reply = http_get(operations->metrics_port, "/metrics");
    EXPECT_TRUE(reply);
    if (!reply)
      return {};
    EXPECT_EQ(reply->status, 200);
    return parse_exposition(reply->body);
  }

  // The value of the one sample with this name whose labels include `labels`; 0 when absent.
  static double value(const std::vector<sample>& samples, const std::string& name,
                      const std::map<std::string, std::string>& labels = {}) {
    double found = 0;
    int matches = 0;
    for (const auto& s : samples) {
      if (s.name != name)
        continue;
      bool all = true;
      for (const auto& [key, wanted] : labels) {
        auto it = s.labels.find(key);
        all = all && it != s.labels.end() && it->second == wanted;
      }
      if (all) {
        found += s.value;
        ++matches;
      }
    }
    return found;
  }

  double live_calls() { return value(scrape(), "s2s_proxy_actors_live", {{"kind", "call"}}); }

  // Polls until the live call actors reach `count`: actors end just after their call does.
  bool wait_for_live_calls(double count) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (live_calls() == count)
        return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
};

TEST_F(Operations, CallCountersHistogramsAndMessagesMoveByExactlyTheCallsMade) {
  constexpr int unary_calls = 7;
  constexpr int failing_calls = 2;
  constexpr int streams = 3;
  constexpr int responses_per_stream = 4;
  auto before = scrape();
  std::map<std::string, std::string> outbound_unary{{"connection", "a-to-b"},
                                                    {"direction", "outbound"},
                                                    {"grpc_service", echo_service_name},
                                                    {"grpc_method", "Unary"}};
  EXPECT_EQ(value(before, "s2s_proxy_grpc_calls_started_total", outbound_unary), 0);

  auto outbound = EchoService::NewStub(make_channel(address("a-to-b outbound")));
  for (int i = 0; i < unary_calls; ++i) {
    EchoRequest request;
    request.set_payload("call " + std::to_string(i));
    ASSERT_TRUE(call_unary(*outbound, request).status.ok());
  }
  for (int i = 0; i < failing_calls; ++i) {
    EchoRequest request;
    request.mutable_error()->set_code(grpc::StatusCode::NOT_FOUND);
    ASSERT_EQ(call_unary(*outbound, request).status.error_code(), grpc::StatusCode::NOT_FOUND);
  }
  auto inbound = EchoService::NewStub(make_channel(address("a-to-b inbound")));
  for (int i = 0; i < streams; ++i) {
    EchoRequest request;
    request.set_stream_count(responses_per_stream);
    auto result = call_server_stream(*inbound, request);
    ASSERT_TRUE(result.status.ok());
    ASSERT_EQ(result.responses.size(), static_cast<std::size_t>(responses_per_stream));
  }
  ASSERT_TRUE(wait_for_live_calls(0));

  auto after = scrape();
  const auto all_unary = unary_calls + failing_calls;
  EXPECT_EQ(value(after, "s2s_proxy_grpc_calls_started_total", outbound_unary), all_unary);
  auto ok = outbound_unary;
  ok["grpc_code"] = "OK";
  EXPECT_EQ(value(after, "s2s_proxy_grpc_calls_handled_total", ok), unary_calls);
  auto not_found = outbound_unary;
  not_found["grpc_code"] = "NOT_FOUND";
  EXPECT_EQ(value(after, "s2s_proxy_grpc_calls_handled_total", not_found), failing_calls);
  EXPECT_EQ(value(after, "s2s_proxy_grpc_call_duration_seconds_count", outbound_unary), all_unary);
  auto le_inf = outbound_unary;
  le_inf["le"] = "+Inf";
  EXPECT_EQ(value(after, "s2s_proxy_grpc_call_duration_seconds_bucket", le_inf), all_unary);
  EXPECT_GT(value(after, "s2s_proxy_grpc_call_duration_seconds_sum", outbound_unary), 0);
  // A unary call is one message each way on each side of the proxy.
  for (const char* side : {"server", "client"}) {
    auto labels = outbound_unary;
    labels["side"] = side;
    // Requests go from the caller (server side) to the upstream (client side); a failing call
    // answers with a status and no message.
    bool server = std::string(side) == "server";
    EXPECT_EQ(value(after, "s2s_proxy_grpc_messages_received_total", labels), server ? all_unary : unary_calls) << side;
    EXPECT_EQ(value(after, "s2s_proxy_grpc_messages_sent_total", labels), server ? unary_calls : all_unary) << side;
  }
  std::map<std::string, std::string> inbound_stream{{"direction", "inbound"}, {"grpc_method", "ServerStream"}};
  EXPECT_EQ(value(after, "s2s_proxy_grpc_calls_started_total", inbound_stream), streams);
  auto streamed = inbound_stream;
  streamed["side"] = "server";
  EXPECT_EQ(value(after, "s2s_proxy_grpc_messages_sent_total", streamed), streams * responses_per_stream);
  EXPECT_EQ(value(after, "s2s_proxy_grpc_messages_received_total", streamed), streams);
  // Nothing leaked into the other direction.
  EXPECT_EQ(value(after, "s2s_proxy_grpc_calls_started_total", {{"direction", "inbound"}}), streams);
  // Each call actor handled some messages, and none failed.
  EXPECT_GE(value(after, "s2s_proxy_actor_messages_processed_total", {{"kind", "call"}}), all_unary + streams);
  EXPECT_EQ(value(after, "s2s_proxy_actor_failures_total", {{"kind", "call"}}), 0);
  EXPECT_EQ(value(after, "s2s_proxy_actors_live", {{"kind", "listener"}}), 2);
  EXPECT_EQ(value(after, "s2s_proxy_actors_live", {{"kind", "supervisor"}}), 1);
  EXPECT_EQ(value(after, "s2s_proxy_actors_live", {{"kind", "translator"}}), 2);  // one per side
  EXPECT_EQ(value(after, "s2s_proxy_actors_live", {{"kind", "schema"}}), 1);
}

TEST_F(Operations, TheCallActorGaugeCountsCallsInFlightAndReturnsToZero) {
  constexpr int open_calls = 3;
  auto outbound = EchoService::NewStub(make_channel(address("a-to-b outbound")));
  EXPECT_EQ(live_calls(), 0);
  // Client streams left open: each holds a call actor until the client half-closes.
  struct open_stream {
    grpc::ClientContext context;
    v1::EchoResponse response;
    std::unique_ptr<grpc::ClientWriter<EchoRequest>> writer;
  };
  std::vector<std::unique_ptr<open_stream>> calls;
  for (int i = 0; i < open_calls; ++i) {
    auto call = std::make_unique<open_stream>();
    call->context.set_deadline(std::chrono::system_clock::now() + 60s);
    call->writer = outbound->ClientStream(&call->context, &call->response);
    EchoRequest request;
    request.set_payload("held");
    ASSERT_TRUE(call->writer->Write(request));
    calls.push_back(std::move(call));
  }
  ASSERT_TRUE(cluster_b.calls().wait_for_in_flight(open_calls, 10s));
  EXPECT_EQ(live_calls(), open_calls);
  auto during = scrape();
  EXPECT_EQ(value(during, "s2s_proxy_grpc_calls_started_total", {{"grpc_method", "ClientStream"}}), open_calls);
  EXPECT_EQ(value(during, "s2s_proxy_grpc_calls_handled_total", {{"grpc_method", "ClientStream"}}), 0);

  for (auto& call : calls) {
    call->writer->WritesDone();
    EXPECT_TRUE(call->writer->Finish().ok());
  }
  EXPECT_TRUE(wait_for_live_calls(0));
  EXPECT_EQ(
      value(scrape(), "s2s_proxy_grpc_calls_handled_total", {{"grpc_method", "ClientStream"}, {"grpc_code", "OK"}}),
      open_calls);
}

TEST_F(Operations, ReplicationStreamsAreCountedOpenedAndClosed) {
  // The echo server does not implement the admin service: the stream opens and ends UNIMPLEMENTED.
  auto channel = make_channel(address("a-to-b outbound"));
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 10s);
  grpc::CompletionQueue queue;
  auto call = stub.PrepareCall(
      &context, "/temporal.server.api.adminservice.v1.AdminService/StreamWorkflowReplicationMessages", &queue);
  void* tag = nullptr;
  bool ok = false;
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(queue.Next(&tag, &ok));
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(2));
  ASSERT_TRUE(queue.Next(&tag, &ok));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  ASSERT_TRUE(wait_for_live_calls(0));
  auto after = scrape();
  std::map<std::string, std::string> outbound{{"connection", "a-to-b"}, {"direction", "outbound"}};
  EXPECT_EQ(value(after, "s2s_proxy_replication_streams_opened_total", outbound), 1);
  auto closed = outbound;
  closed["grpc_code"] = "UNIMPLEMENTED";
  EXPECT_EQ(value(after, "s2s_proxy_replication_streams_closed_total", closed), 1);
  EXPECT_EQ(value(after, "s2s_proxy_replication_streams_active", outbound), 0);
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
}

TEST_F(Operations, FamiliesThatNeedNoMethodNameAreListedBeforeAnyCall) {
  auto reply = http_get(operations->metrics_port, "/metrics");
  ASSERT_TRUE(reply);
  for (const char* family :
       {"s2s_proxy_replication_streams_active", "s2s_proxy_replication_streams_opened_total", "s2s_proxy_actors_live",
        "s2s_proxy_actor_restarts_total", "s2s_proxy_actor_failures_total", "s2s_proxy_actor_mailbox_depth",
        "s2s_proxy_acl_denied_total", "s2s_proxy_mux_sessions_active", "s2s_proxy_mux_reconnects_total",
        "s2s_proxy_mux_streams_active", "s2s_proxy_mux_ping_round_trip_seconds", "s2s_proxy_mux_session_errors_total",
        "s2s_proxy_mux_bytes_sent_total"})
    EXPECT_NE(reply->body.find(std::string("# TYPE ") + family + " "), std::string::npos) << family;
  for (const char* kind :
       {"supervisor", "listener", "call", "upstream", "mux_session", "mux_stream", "translator", "schema"})
    EXPECT_NE(reply->body.find(std::string("s2s_proxy_actors_live{kind=\"") + kind + "\"}"), std::string::npos) << kind;
  for (const char* kind : {"supervisor", "listener", "mux_connection", "mux_session"})
    EXPECT_NE(reply->body.find(std::string("s2s_proxy_actor_mailbox_depth{kind=\"") + kind + "\"}"), std::string::npos)
        << kind;
}

// Polls a health endpoint until it answers `status`, within a bound; returns the last status.
int wait_for_health(int port, int status) {
  auto deadline = std::chrono::steady_clock::now() + 15s;
  int last = 0;
  do {
    auto reply = http_get(port, "/health");
    last = reply ? reply->status : 0;
    if (last == status)
      break;
    std::this_thread::sleep_for(50ms);
  } while (std::chrono::steady_clock::now() < deadline);
  return last;
}

TEST_F(Operations, HealthOfEachSideFollowsItsFrontend) {
  int local = operations->health_port("a-to-b local");
  int remote = operations->health_port("a-to-b remote");
  ASSERT_GT(local, 0);
  ASSERT_GT(remote, 0);
  EXPECT_EQ(wait_for_health(local, 200), 200);
  EXPECT_EQ(wait_for_health(remote, 200), 200);

  int local_port = cluster_a->port();
  cluster_a.reset();
  EXPECT_EQ(wait_for_health(local, 503), 503);
  auto reason = http_get(local, "/health");
  ASSERT_TRUE(reason);
  EXPECT_NE(reason->body.find("the local frontend at 127.0.0.1:" + std::to_string(local_port)), std::string::npos)
      << reason->body;
  EXPECT_EQ(http_get(remote, "/health")->status, 200);

  echo_server_options same_port;
  same_port.port = local_port;
  cluster_a = std::make_unique<echo_server>(same_port);
  EXPECT_EQ(wait_for_health(local, 200), 200);
}

// Kills the listener `name` of the proxy under test.
void kill_listener(const actors::proxy_report& report, const std::string& name) {
  for (const auto& endpoint : report.endpoints)
    if (endpoint.name == name)
      caf::anon_send_exit(endpoint.listener, caf::exit_reason::kill);
}

TEST_F(Operations, ARestartedListenerIsCountedOnceAsAFailureAndOnceAsARestart) {
  kill_listener(proxy->report, "a-to-b outbound");
  auto deadline = std::chrono::steady_clock::now() + 15s;
  std::vector<sample> samples;
  do {
    samples = scrape();
    if (value(samples, "s2s_proxy_actor_restarts_total", {{"kind", "listener"}}) >= 1)
      break;
    std::this_thread::sleep_for(50ms);
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(value(samples, "s2s_proxy_actor_restarts_total", {{"kind", "listener"}}), 1);
  EXPECT_EQ(value(samples, "s2s_proxy_actor_failures_total", {{"kind", "listener"}}), 1);
  EXPECT_EQ(value(samples, "s2s_proxy_actors_live", {{"kind", "listener"}}), 2);
  EXPECT_EQ(wait_for_health(operations->health_port("a-to-b remote"), 200), 200);
}

// The proxy under test, with listeners that are not restarted after their first failure.
class OperationsWithoutRestarts : public Operations {
 protected:
  OperationsWithoutRestarts() { restarts.max_failures = 1; }
};

TEST_F(OperationsWithoutRestarts, AListenerGivenUpOnMakesItsSideNotReadyAndTheOtherServesOn) {
  int local = operations->health_port("a-to-b local");
  int remote = operations->health_port("a-to-b remote");
  EXPECT_EQ(wait_for_health(local, 200), 200);
  // The inbound listener carries calls to the local side.
  kill_listener(proxy->report, "a-to-b inbound");
  EXPECT_EQ(wait_for_health(local, 503), 503);
  auto reason = http_get(local, "/health");
  ASSERT_TRUE(reason);
  EXPECT_NE(reason->body.find("a-to-b inbound: the listener failed more often than its restart budget allows"),
            std::string::npos)
      << reason->body;
  EXPECT_EQ(http_get(remote, "/health")->status, 200);

  auto samples = scrape();
  EXPECT_EQ(value(samples, "s2s_proxy_actor_restarts_total", {{"kind", "listener"}}), 0);
  EXPECT_EQ(value(samples, "s2s_proxy_actor_failures_total", {{"kind", "listener"}}), 1);
  EXPECT_EQ(value(samples, "s2s_proxy_actors_live", {{"kind", "listener"}}), 1);
  // The outbound side still carries calls.
  auto outbound = EchoService::NewStub(make_channel(address("a-to-b outbound")));
  EXPECT_TRUE(call_unary(*outbound, echo("still served")).status.ok());
}

TEST_F(Operations, DebugConnectionsIsJsonListingListenersWithTheirCalls) {
  auto outbound = EchoService::NewStub(make_channel(address("a-to-b outbound")));
  ASSERT_TRUE(call_unary(*outbound, EchoRequest()).status.ok());
  auto reply = http_get(operations->debug->port(), "/debug/connections");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_NE(reply->headers.find("Content-Type: application/json"), std::string::npos);
  google::protobuf::Struct parsed;
  auto status = google::protobuf::util::JsonStringToMessage(reply->body, &parsed);
  ASSERT_TRUE(status.ok()) << status.ToString() << "\n" << reply->body;

  const auto& fields = parsed.fields();
  ASSERT_TRUE(fields.count("listeners"));
  std::map<std::string, google::protobuf::Struct> listeners;
  for (const auto& entry : fields.at("listeners").list_value().values())
    listeners[entry.struct_value().fields().at("name").string_value()] = entry.struct_value();
  ASSERT_EQ(listeners.size(), 2u) << reply->body;
  const auto& out = listeners.at("a-to-b outbound").fields();
  EXPECT_EQ(out.at("state").string_value(), "serving");
  EXPECT_EQ(out.at("callsStarted").number_value(), 1);
  EXPECT_EQ(out.at("port").number_value(), std::stoi(address("a-to-b outbound").substr(10)));
  EXPECT_EQ(listeners.at("a-to-b inbound").fields().at("callsStarted").number_value(), 0);

  const auto& connection = fields.at("clusterConnections").list_value().values(0).struct_value().fields();
  EXPECT_EQ(connection.at("name").string_value(), "a-to-b");
  EXPECT_EQ(connection.at("shardCount").kind_case(), google::protobuf::Value::kNullValue);
  EXPECT_EQ(connection.at("local")
                .struct_value()
                .fields()
                .at("tcpClient")
                .struct_value()
                .fields()
                .at("address")
                .string_value(),
            "127.0.0.1:" + std::to_string(cluster_a->port()));
  EXPECT_EQ(fields.at("supervisor").struct_value().fields().at("state").string_value(), "running");
  EXPECT_TRUE(fields.at("actors").struct_value().fields().count("call"));
  // The echo server serves no reflection: the schema is being retried.
  const auto& schema = fields.at("schemas").list_value().values(0).struct_value().fields();
  EXPECT_EQ(schema.at("source").string_value(), "reflection on 127.0.0.1:" + std::to_string(cluster_a->port()));
  EXPECT_FALSE(schema.at("loaded").bool_value());
  EXPECT_GE(schema.at("attempts").number_value(), 1);

  auto missing = http_get(operations->debug->port(), "/debug/other");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST(DebugShardCount, LcmShowsEachStreamAsOpenedAndAsMapped) {
  google::protobuf::Struct parsed;
  auto json = debug::shard_count_json({config::shard_count_mode::lcm, 2, 3});
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok()) << json;
  const auto& fields = parsed.fields();
  EXPECT_EQ(fields.at("mode").string_value(), "lcm");
  EXPECT_EQ(fields.at("presentedShardCount").number_value(), 6);
  const auto& outbound = fields.at("outboundStreams").list_value();
  ASSERT_EQ(outbound.values_size(), 6) << json;
  // A's shard 1 opens to B's virtual shard 5, which is B's shard 2.
  const auto& fifth = outbound.values(4).struct_value().fields();
  EXPECT_EQ(fifth.at("opened").list_value().values(0).number_value(), 1);
  EXPECT_EQ(fifth.at("opened").list_value().values(1).number_value(), 5);
  EXPECT_EQ(fifth.at("mapped").list_value().values(0).number_value(), 5);
  EXPECT_EQ(fifth.at("mapped").list_value().values(1).number_value(), 2);
  // B's shard 1 opens to A's virtual shard 4, which is A's shard 2.
  const auto& fourth = fields.at("inboundStreams").list_value().values(3).struct_value().fields();
  EXPECT_EQ(fourth.at("opened").list_value().values(0).number_value(), 1);
  EXPECT_EQ(fourth.at("mapped").list_value().values(1).number_value(), 2);
  EXPECT_EQ(debug::shard_count_json({}), "null");
}

}  // namespace
}  // namespace s2s::testing
