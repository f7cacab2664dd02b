// The routing hubs of several instances of one side on CAF's deterministic scheduler, with real call actors and real
// Temporal encodings. Each instance's group member is played by a relay that hands the hub's notes to the other hubs
// as the middleman would, with the sender's name; the members each hub is told of are the test's to choose, so an
// instance can vanish and come back with the same name.
#define CAF_SUITE routing_group

#include <caf/test/dsl.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <grpc/grpc.h>

#include <map>
#include <memory>
#include <set>

#include "actors/routing_hub.hpp"
#include "cluster/ownership.hpp"
#include "routing_streams.hpp"

using namespace s2s::actors;
using namespace s2s::actors::testing;
using s2s::cluster::shard_role;
using s2s::translation::replication_switch;

namespace {

constexpr std::int32_t sources = 4;
constexpr std::int32_t targets = 3;

struct instance {
  std::string name;
  std::uint64_t incarnation = 0;
  std::shared_ptr<group_link> link;
  std::shared_ptr<sending_cluster> cluster = std::make_shared<sending_cluster>();
  upstream_actor upstream;
  std::shared_ptr<routing_entrance> entrance;
  std::map<std::int32_t, std::shared_ptr<target_stream>> ends;
  std::map<std::int32_t, call_actor> calls;
  caf::actor relay;

  routing_group_view group() const { return *entrance->view().group; }
};

// Who is reachable from whom: the instances by name. A relay delivers to those listed here only.
struct network {
  std::map<std::string, instance*> up;
};

caf::behavior relay_of(caf::event_based_actor*, std::shared_ptr<network> net, std::string name,
                       std::uint64_t incarnation) {
  return {
      [=](relay_atom, hub_note& note) {
        if (!net->up.count(name))
          return;  // this instance is cut off
        for (auto& [peer, to] : net->up) {
          if (peer == name || (!note.to.empty() && note.to != peer))
            continue;
          auto copy = note;
          copy.from = name;
          copy.incarnation = incarnation;
          if (auto hub = to->link->hub(note.side))
            caf::anon_send(hub, std::move(copy));
        }
      },
  };
}

struct fixture : test_coordinator_fixture<> {
  std::shared_ptr<network> net = std::make_shared<network>();
  std::map<std::string, std::unique_ptr<instance>> instances;
  std::uint64_t incarnations = 0;

  void drain() { sched.run(); }

  fixture() { grpc_init(); }
  ~fixture() {
    for (auto& [name, node] : instances)
      stop(*node);
    drain();
    grpc_shutdown();
  }

  void stop(instance& node) {
    for (auto& [shard, call] : node.calls)
      self->send_exit(call, caf::exit_reason::user_shutdown);
    node.calls.clear();
    node.entrance.reset();
    self->send_exit(node.upstream, caf::exit_reason::user_shutdown);
    self->send_exit(node.relay, caf::exit_reason::user_shutdown);
  }

  // schema_loaded: whether the instance's schema is loaded yet, when the test holds it back.
  instance& start(const std::string& name, std::shared_ptr<const bool> schema_loaded = nullptr) {
    auto node = std::make_unique<instance>();
    node->name = name;
    node->incarnation = ++incarnations;
    node->link = std::make_shared<group_link>(name);
    node->relay = sys.spawn(relay_of, net, name, node->incarnation);
    node->link->attach_member(node->relay);
    node->upstream = spawn_target_upstream(sys, name + " sending cluster", node->cluster);
    routing_spec spec;
    spec.name = name + " routing";
    spec.connection = "test";
    spec.source_count = sources;
    spec.target_count = targets;
    spec.upstream = node->upstream;
    spec.codec = [schema_loaded]() -> std::shared_ptr<const s2s::translation::replication_codec> {
      if (schema_loaded && !*schema_loaded)
        return nullptr;
      return codec();
    };
    spec.group = node->link;
    node->entrance = start_routing(sys, std::move(spec));
    auto& made = *node;
    if (auto old = instances.find(name); old != instances.end())
      stop(*old->second);
    instances[name] = std::move(node);
    net->up[name] = &made;
    drain();
    return made;
  }

  // Every instance in `live` is told that those are the live ones.
  void members(const std::vector<instance*>& live) {
    group_members told;
    for (auto* node : live)
      told.alive.emplace_back(node->name, node->incarnation);
    std::sort(told.alive.begin(), told.alive.end());
    for (auto* node : live)
      caf::anon_send(node->link->hub(0), told);
    drain();
  }

  target_stream& open_target(instance& node, std::int32_t shard) {
    node.ends[shard] = std::make_shared<target_stream>(shard);
    node.calls[shard] = spawn_call(sys, {node.ends[shard], node.entrance->upstream(), nullptr, nullptr});
    drain();
    return *node.ends[shard];
  }
  void from_source(instance& node, std::int32_t shard, const std::string& message) {
    self->send(node.cluster->latest(shard).owner, upstream_read{bytes(message)});
    drain();
  }
  void from_target(instance& node, std::int32_t shard, const std::string& message) {
    self->send(node.calls.at(shard), downstream_read{bytes(message)});
    drain();
  }
  // The source streams an instance opened for `shard`, closed ones included.
  std::size_t opened(const instance& node, std::int32_t shard) const {
    auto found = node.cluster->streams.find(shard);
    return found == node.cluster->streams.end() ? 0 : found->second.size();
  }
};

// The owner of each source shard as the ownership core computes it for these members.
std::map<std::int32_t, std::string> source_owners(const std::vector<std::string>& names) {
  std::vector<s2s::cluster::shard_claims> live;
  for (const auto& name : names)
    live.push_back({name, {}});
  s2s::cluster::shard_ownership ownership(live, sources, targets);
  std::map<std::int32_t, std::string> out;
  for (std::int32_t shard = 1; shard <= sources; ++shard)
    out[shard] = *ownership.owner(shard_role::source, shard);
  return out;
}

std::string ack_of(std::int32_t source, std::int64_t watermark) {
  replication_switch made(*codec(), sources, targets, nullptr);
  return made.acknowledge(source, 0, watermark)->message;
}

}  // namespace

CAF_TEST_FIXTURE_SCOPE(routing_group_tests, fixture)

CAF_TEST(the shards are spread over the instances and each source stream is opened by one of them) {
  auto& a1 = start("a1");
  auto& a2 = start("a2");
  members({&a1, &a2});
  open_target(a1, 1);
  open_target(a1, 2);
  open_target(a2, 3);
  auto owners = source_owners({"a1", "a2"});
  std::set<std::string> owning;
  for (const auto& [shard, owner] : owners)
    owning.insert(owner);
  CAF_REQUIRE_EQUAL(owning.size(), 2u);  // the names of this test spread the sources over both
  for (std::int32_t shard = 1; shard <= sources; ++shard) {
    CAF_CHECK_EQUAL(opened(a1, shard), owners[shard] == "a1" ? 1u : 0u);
    CAF_CHECK_EQUAL(opened(a2, shard), owners[shard] == "a2" ? 1u : 0u);
  }
  for (auto* node : {&a1, &a2}) {
    auto view = node->group();
    CAF_CHECK_EQUAL(view.node_name, node->name);
    CAF_CHECK_EQUAL(view.members, (std::vector<std::string>{"a1", "a2"}));
    CAF_CHECK_EQUAL(view.target_owners.size(), 3u);
    CAF_CHECK(view.target_owners ==
              (std::vector<std::pair<std::int32_t, std::string>>{{1, "a1"}, {2, "a1"}, {3, "a2"}}));
    CAF_CHECK_EQUAL(view.source_owners.size(), static_cast<std::size_t>(sources));
    for (const auto& [shard, owner] : view.source_owners)
      CAF_CHECK_EQUAL(owner, owners[shard]);
  }
}

CAF_TEST(a task reaches the instance of its target and its source is acked once that target applied it) {
  auto& a1 = start("a1");
  auto& a2 = start("a2");
  members({&a1, &a2});
  open_target(a1, 1);
  open_target(a2, 3);
  std::int32_t source = 0;
  for (const auto& [shard, owner] : source_owners({"a1", "a2"}))
    if (owner == "a1" && source == 0)
      source = shard;
  CAF_REQUIRE(source != 0);
  auto message = batch({{workflow_on(1, targets), 10}, {workflow_on(3, targets), 11}}, 12);
  // What each target must see: its own tasks, numbered by its own instance from 1.
  replication_switch at_a1(*codec(), sources, targets, [](std::int32_t shard) { return shard != 3; });
  replication_switch at_a2(*codec(), sources, targets, [](std::int32_t shard) { return shard == 3; });
  auto want_a1 = at_a1.from_source(source, message);
  auto want_a2 = at_a2.from_source(source, message);
  CAF_REQUIRE(want_a1 && want_a2);
  CAF_REQUIRE_EQUAL(want_a1->targets.size(), 1u);
  CAF_REQUIRE_EQUAL(want_a2->targets.size(), 1u);
  from_source(a1, source, message);
  CAF_REQUIRE_EQUAL(a1.ends.at(1)->writes.size(), 1u);
  CAF_CHECK(a1.ends.at(1)->writes.front() == want_a1->targets.front().message);
  CAF_REQUIRE_EQUAL(a2.ends.at(3)->writes.size(), 1u);
  CAF_CHECK(a2.ends.at(3)->writes.front() == want_a2->targets.front().message);
  // Neither task is applied: the source hears the least of both instances' levels, below task 10.
  auto& stream = a1.cluster->latest(source);
  CAF_REQUIRE(!stream.writes.empty());
  CAF_CHECK(stream.writes.back() == ack_of(source, 10));
  // a1's target applied task 10; task 11 at a2 still holds the source back.
  from_target(a1, 1, ack(2));
  CAF_CHECK(stream.writes.back() == ack_of(source, 11));
  // Now a2's target applied task 11: the source may pass the whole batch.
  from_target(a2, 3, ack(2));
  CAF_CHECK(stream.writes.back() == ack_of(source, 12));
  CAF_CHECK(a2.group().notes_received > 0u);
}

CAF_TEST(an instance that vanishes leaves its sources to the others and its targets tasks wait there) {
  auto& a1 = start("a1");
  auto& a2 = start("a2");
  members({&a1, &a2});
  open_target(a1, 1);
  open_target(a2, 3);
  auto owners = source_owners({"a1", "a2"});
  // a2 is gone: a1 opens every source, its own again and a2's for the first time.
  net->up.erase("a2");
  members({&a1});
  for (std::int32_t shard = 1; shard <= sources; ++shard)
    CAF_CHECK_EQUAL(opened(a1, shard), owners[shard] == "a1" ? 2u : 1u);
  auto view = a1.group();
  CAF_CHECK_EQUAL(view.members, (std::vector<std::string>{"a1"}));
  CAF_CHECK(view.target_owners == (std::vector<std::pair<std::int32_t, std::string>>{{1, "a1"}}));
  // A task for target 3, whose stream nobody holds, waits at a1 and holds its source back.
  from_source(a1, 2, batch({{workflow_on(3, targets), 30}}, 31));
  sched.trigger_timeouts();  // the view is published at the tick
  drain();
  CAF_CHECK_EQUAL(a1.entrance->view().waiting, 1u);
  CAF_CHECK(a1.cluster->latest(2).writes.back() == ack_of(2, 30));
  // a2 comes back under the same name, as a new incarnation, and target 3's stream opens there. a1's waiting task
  // is a2's now: the source that owed it opens again, and its re-sent batch reaches target 3 at a2.
  auto& back = start("a2");
  members({&a1, &back});
  auto& target = open_target(back, 3);
  CAF_CHECK_EQUAL(a1.entrance->view().waiting, 0u);
  CAF_CHECK(a1.group().target_owners == (std::vector<std::pair<std::int32_t, std::string>>{{1, "a1"}, {3, "a2"}}));
  auto* owner = owners[2] == "a1" ? &a1 : &back;
  from_source(*owner, 2, batch({{workflow_on(3, targets), 30}}, 31));
  CAF_CHECK_EQUAL(target.writes.size(), 1u);
  CAF_CHECK(target.finished_with == std::nullopt);
}

CAF_TEST(a newer stream of a target at another instance ends the older one) {
  auto& a1 = start("a1");
  auto& a2 = start("a2");
  members({&a1, &a2});
  auto& older = open_target(a1, 1);
  open_target(a2, 1);
  CAF_REQUIRE(older.finished_with);
  CAF_CHECK_EQUAL(older.finished_with->error_code(), grpc::StatusCode::UNAVAILABLE);
  CAF_CHECK(older.finished_with->error_message().find("at instance 'a2'") != std::string::npos);
  CAF_CHECK(!a2.ends.at(1)->finished_with);
  for (auto* node : {&a1, &a2})
    CAF_CHECK(node->group().target_owners == (std::vector<std::pair<std::int32_t, std::string>>{{1, "a2"}}));
}

CAF_TEST(a batch of an incarnation whose start was missed is not counted and that incarnation is asked for again) {
  auto& a1 = start("a1");
  auto& a2 = start("a2");
  members({&a1, &a2});
  open_target(a1, 1);
  open_target(a2, 3);
  std::int32_t source = 0;
  for (const auto& [shard, owner] : source_owners({"a1", "a2"}))
    if (owner == "a1" && source == 0)
      source = shard;
  CAF_REQUIRE(source != 0);
  // While a2 hears nothing, a1's target 1 is lost owing the source a task: a1 opens the source again, and a2 misses
  // the start of that incarnation.
  net->up.erase("a2");
  from_source(a1, source, batch({{workflow_on(1, targets), 10}}, 11));
  self->send(a1.calls.at(1), downstream_cancelled{});
  drain();
  CAF_REQUIRE_EQUAL(opened(a1, source), 2u);
  net->up["a2"] = &a2;
  // a2 cannot count the new incarnation whole: it delivers nothing of it and sends no level, so the source is not
  // acked past task 20.
  auto message = batch({{workflow_on(3, targets), 20}}, 21);
  from_source(a1, source, message);
  CAF_CHECK(a2.ends.at(3)->writes.empty());
  CAF_CHECK(a1.cluster->latest(source).writes.empty());
  // At its tick a2 asks for that incarnation again; the one after it reaches target 3.
  sched.trigger_timeouts();
  drain();
  CAF_CHECK_EQUAL(a2.group().restarts_asked, 1u);
  CAF_REQUIRE_EQUAL(opened(a1, source), 3u);
  from_source(a1, source, message);
  CAF_CHECK_EQUAL(a2.ends.at(3)->writes.size(), 1u);
  CAF_REQUIRE(!a1.cluster->latest(source).writes.empty());
  CAF_CHECK(a1.cluster->latest(source).writes.back() == ack_of(source, 20));
}

CAF_TEST(an instance that hears of its sources before its schema is loaded opens them once it is) {
  auto& a1 = start("a1");
  auto loaded = std::make_shared<bool>(false);
  auto& a2 = start("a2", loaded);
  members({&a1, &a2});
  for (std::int32_t shard = 1; shard <= targets; ++shard)
    open_target(a1, shard);
  auto owners = source_owners({"a1", "a2"});
  // a2 knows from a1's claims that a1 receives, and which sources are its own, but cannot route yet.
  for (const auto& [shard, owner] : owners)
    CAF_CHECK_EQUAL(opened(a2, shard), 0u);
  sched.trigger_timeouts();
  drain();
  for (const auto& [shard, owner] : owners)
    CAF_CHECK_EQUAL(opened(a2, shard), 0u);
  // The schema arrives with no note or stream to tell the hub: its next tick opens a2's sources, once each.
  *loaded = true;
  sched.trigger_timeouts();
  drain();
  for (const auto& [shard, owner] : owners) {
    CAF_CHECK_EQUAL(opened(a2, shard), owner == "a2" ? 1u : 0u);
    CAF_CHECK_EQUAL(opened(a1, shard), owner == "a1" ? 1u : 0u);
  }
  std::vector<std::int32_t> open = a2.entrance->view().sources_open;
  std::vector<std::int32_t> owned;
  for (const auto& [shard, owner] : owners)
    if (owner == "a2")
      owned.push_back(shard);
  CAF_REQUIRE(!owned.empty());
  CAF_CHECK(open == owned);
  sched.trigger_timeouts();
  drain();
  for (const auto& [shard, owner] : owners)
    CAF_CHECK_EQUAL(opened(a2, shard), owner == "a2" ? 1u : 0u);
}

CAF_TEST_FIXTURE_SCOPE_END()
