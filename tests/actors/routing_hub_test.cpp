// The routing hub on CAF's deterministic scheduler, with real call actors and real Temporal encodings: target streams
// end at the hub, source streams open one per sending shard, tasks reach the target shard of their workflow, acks
// reach the sources, and a lost target makes the sources it owes tasks re-send them.
#define CAF_SUITE routing_hub

#include <caf/test/dsl.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <grpc/grpc.h>

#include <map>
#include <optional>

#include "actors/routing_hub.hpp"
#include "routing_streams.hpp"

using namespace s2s::actors;
using s2s::translation::replication_switch;

namespace {

using namespace s2s::actors::testing;

constexpr std::int32_t sources = 2;
constexpr std::int32_t targets = 3;

struct fixture : test_coordinator_fixture<> {
  std::shared_ptr<sending_cluster> cluster = std::make_shared<sending_cluster>();
  upstream_actor upstream = spawn_target_upstream(sys, "sending cluster", cluster);
  std::shared_ptr<routing_entrance> entrance;
  std::map<std::int32_t, std::shared_ptr<target_stream>> ends;
  std::map<std::int32_t, call_actor> calls;
  bool schema_loaded = true;

  // Runs every message, but no timeout: the hub's tick re-arms itself forever.
  void drain() { sched.run(); }

  fixture() {
    grpc_init();
    routing_spec spec;
    spec.name = "test routing";
    spec.connection = "test";
    spec.source_count = sources;
    spec.target_count = targets;
    spec.upstream = upstream;
    spec.codec = [this] { return schema_loaded ? codec() : nullptr; };
    entrance = start_routing(sys, std::move(spec));
  }
  ~fixture() {
    for (auto& [shard, call] : calls)
      self->send_exit(call, caf::exit_reason::user_shutdown);
    entrance.reset();
    self->send_exit(upstream, caf::exit_reason::user_shutdown);
    drain();
    grpc_shutdown();
  }

  target_stream& open_target(std::int32_t shard) {
    ends[shard] = std::make_shared<target_stream>(shard);
    calls[shard] = spawn_call(sys, {ends[shard], entrance->upstream(), nullptr, nullptr});
    drain();
    return *ends[shard];
  }
  void from_source(std::int32_t shard, const std::string& message) {
    self->send(cluster->latest(shard).owner, upstream_read{bytes(message)});
    drain();
  }
  void from_target(std::int32_t shard, const std::string& message) {
    self->send(calls.at(shard), downstream_read{bytes(message)});
    drain();
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(routing_hub_tests, fixture)

CAF_TEST(takes only replication streams that no proxy routed) {
  target_stream plain(1);
  CAF_CHECK(entrance->takes(plain.call));
  auto marked = plain.call;
  marked.metadata.emplace_back(std::string(routed_stream_header), "1");
  CAF_CHECK(!entrance->takes(marked));
  auto other = plain.call;
  other.method = "/temporal.server.api.adminservice.v1.AdminService/DescribeCluster";
  CAF_CHECK(!entrance->takes(other));
}

CAF_TEST(the first target stream opens one marked source stream per sending shard) {
  auto& target = open_target(2);
  CAF_CHECK(!target.finished_with);
  CAF_CHECK_EQUAL(target.metadata_sent, 1);
  CAF_REQUIRE_EQUAL(cluster->streams.size(), static_cast<std::size_t>(sources));
  for (std::int32_t shard = 1; shard <= sources; ++shard) {
    const auto& opened = cluster->latest(shard).call;
    CAF_CHECK_EQUAL(opened.method, std::string(s2s::shards::replication_stream_method));
    CAF_CHECK_EQUAL(header(opened.metadata, s2s::shards::client_shard_header), std::to_string(shard));
    CAF_CHECK_EQUAL(header(opened.metadata, s2s::shards::server_shard_header), std::to_string(shard));
    CAF_CHECK_EQUAL(header(opened.metadata, "temporal-client-cluster-id"), "b");
    CAF_CHECK_EQUAL(header(opened.metadata, routed_stream_header), "1");
    CAF_CHECK(!entrance->takes(opened));
  }
  open_target(1);
  open_target(3);
  CAF_CHECK_EQUAL(cluster->streams.at(1).size(), 1u);  // no stream opened twice
}

CAF_TEST(tasks reach the target shard of their workflow and acks reach their source) {
  for (std::int32_t shard = 1; shard <= targets; ++shard)
    open_target(shard);
  // The same messages through a switch of its own: what each end must see.
  replication_switch expected(*codec(), sources, targets, nullptr);
  auto message = batch({{workflow_on(1, targets), 10},
                        {workflow_on(2, targets), 11},
                        {workflow_on(3, targets), 12},
                        {workflow_on(2, targets), 13}},
                       14);
  auto routed = expected.from_source(1, message);
  CAF_REQUIRE(routed);
  CAF_REQUIRE_EQUAL(routed->targets.size(), 3u);
  from_source(1, message);
  for (const auto& out : routed->targets) {
    CAF_REQUIRE_EQUAL(ends.at(out.target)->writes.size(), 1u);
    CAF_CHECK(ends.at(out.target)->writes.front() == out.message);
  }
  // Targets 1 and 3 applied theirs; source 1 may not pass task 11 (at target 2) yet.
  for (std::int32_t shard : {1, 3}) {
    auto acked = expected.from_target(shard, ack(2));
    CAF_REQUIRE(acked);
    from_target(shard, ack(2));
    for (const auto& out : acked->sources) {
      CAF_REQUIRE(!cluster->latest(out.source).writes.empty());
      CAF_CHECK(cluster->latest(out.source).writes.back() == out.message);
    }
  }
  auto& source = cluster->latest(1);
  auto before = source.writes.size();
  auto acked = expected.from_target(2, ack(3));
  CAF_REQUIRE(acked);
  CAF_REQUIRE_EQUAL(acked->sources.size(), 1u);
  from_target(2, ack(3));
  CAF_REQUIRE_EQUAL(source.writes.size(), before + 1);
  CAF_CHECK(source.writes.back() == acked->sources.front().message);
  // The sender ends a stream whose receiver stays silent: the last ack is sent again every second.
  sched.trigger_timeouts();
  drain();
  CAF_REQUIRE_EQUAL(source.writes.size(), before + 2);
  CAF_CHECK(source.writes.back() == acked->sources.front().message);
}

CAF_TEST(a lost target makes the sources that owe it tasks send them again) {
  for (std::int32_t shard = 1; shard <= targets; ++shard)
    open_target(shard);
  from_source(1, batch({{workflow_on(2, targets), 10}}, 11));
  from_source(2, batch({{workflow_on(1, targets), 20}}, 21));
  CAF_REQUIRE_EQUAL(ends.at(2)->writes.size(), 1u);
  // Target 2 goes away before it acked source 1's task.
  self->send(calls.at(2), downstream_cancelled{});
  drain();
  CAF_CHECK_EQUAL(cluster->streams.at(1).size(), 2u);
  CAF_CHECK_EQUAL(cluster->streams.at(1).front()->cancels, 1);
  CAF_CHECK_EQUAL(cluster->streams.at(2).size(), 1u);  // source 2 owes target 2 nothing
  // The old incarnation's late batch is dropped; the new one's reaches the reopened target.
  self->send(cluster->streams.at(1).front()->owner, upstream_read{bytes(batch({{workflow_on(2, targets), 12}}, 13))});
  drain();
  auto& reopened = open_target(2);
  from_source(1, batch({{workflow_on(2, targets), 10}}, 11));
  CAF_CHECK_EQUAL(reopened.writes.size(), 1u);
}

CAF_TEST(source streams opened after the upstream was replaced go to the new one and the others stay) {
  for (std::int32_t shard = 1; shard <= targets; ++shard)
    open_target(shard);
  auto restarted_cluster = std::make_shared<sending_cluster>();
  auto restarted = spawn_target_upstream(sys, "restarted sending cluster", restarted_cluster);
  entrance->replace_source_upstream(restarted);
  drain();
  CAF_CHECK(restarted_cluster->streams.empty());  // the streams open stay where they are
  // Target 2 goes away owing source 1 a task: source 1 is opened again, toward the new upstream.
  from_source(1, batch({{workflow_on(2, targets), 10}}, 11));
  self->send(calls.at(2), downstream_cancelled{});
  drain();
  CAF_CHECK_EQUAL(cluster->streams.at(1).size(), 1u);
  CAF_REQUIRE_EQUAL(restarted_cluster->streams.count(1), 1u);
  CAF_CHECK_EQUAL(restarted_cluster->streams.at(1).size(), 1u);
  CAF_CHECK_EQUAL(restarted_cluster->streams.count(2), 0u);
  CAF_CHECK_EQUAL(cluster->streams.at(2).front()->cancels, 0);
  self->send_exit(restarted, caf::exit_reason::user_shutdown);
}

CAF_TEST(streams for a shard the receiving cluster does not have are refused by name) {
  auto& target = open_target(targets + 1);
  CAF_REQUIRE(target.finished_with);
  CAF_CHECK_EQUAL(target.finished_with->error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  CAF_CHECK(target.finished_with->error_message().find("client shard 4") != std::string::npos);
  CAF_CHECK(cluster->streams.empty());
}

CAF_TEST(before the schema is loaded target streams are asked to call again) {
  schema_loaded = false;
  auto& target = open_target(1);
  CAF_REQUIRE(target.finished_with);
  CAF_CHECK_EQUAL(target.finished_with->error_code(), grpc::StatusCode::UNAVAILABLE);
  CAF_CHECK(cluster->streams.empty());
  schema_loaded = true;
  CAF_CHECK(!open_target(1).finished_with);
  CAF_CHECK_EQUAL(cluster->streams.size(), static_cast<std::size_t>(sources));
}

CAF_TEST(a malformed ack ends its target stream with INVALID_ARGUMENT) {
  auto& target = open_target(1);
  from_target(1, std::string("\x0a\xff", 2));
  CAF_REQUIRE(target.finished_with);
  CAF_CHECK_EQUAL(target.finished_with->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

CAF_TEST_FIXTURE_SCOPE_END()
