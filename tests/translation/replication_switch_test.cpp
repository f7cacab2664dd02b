// Routing at the level of stream messages, on real Temporal encodings (dynamic messages of the pinned schema): a
// source's batch is split by Temporal's placement of each workflow, each target sees its own id sequence, and a
// source's ack moves only as far as every target applied its tasks, in both of Temporal's ack modes.
#include "translation/replication_switch.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "shards/workflow_shard.hpp"
#include "temporal_messages.hpp"

namespace s2s::translation {
namespace {

using testing::add;
using testing::bytes_of;
using testing::make;
using testing::set;
using testing::set_int;

constexpr std::string_view namespace_id = "5b1ad0c4-6f3e-4f0e-9c1b-2a7d3e9f8a10";

struct task_spec {
  std::string workflow_id;
  std::int64_t id;
};

std::string source_response(const std::vector<task_spec>& tasks, std::int64_t watermark, std::int32_t priority = 0) {
  auto response = make("temporal.server.api.adminservice.v1.StreamWorkflowReplicationMessagesResponse");
  auto& batch = testing::at(*response, "messages");
  for (const auto& spec : tasks) {
    auto& task = add(batch, "replication_tasks");
    set_int(task, "source_task_id", spec.id);
    set(task, "history_task_attributes.namespace_id", namespace_id);
    set(task, "history_task_attributes.workflow_id", spec.workflow_id);
    set(task, "history_task_attributes.run_id", "run-of-" + spec.workflow_id);
    if (priority != 0)
      set_int(task, "priority", priority);
  }
  set_int(batch, "exclusive_high_watermark", watermark);
  if (priority != 0)
    set_int(batch, "priority", priority);
  return bytes_of(*response);
}

std::string target_ack(std::int64_t overall, std::optional<std::int64_t> high = {},
                       std::optional<std::int64_t> low = {}) {
  auto request = make("temporal.server.api.adminservice.v1.StreamWorkflowReplicationMessagesRequest");
  auto& state = testing::at(*request, "sync_replication_state");
  set_int(state, "inclusive_low_watermark", overall);
  if (high)
    set_int(state, "high_priority_state.inclusive_low_watermark", *high);
  if (low)
    set_int(state, "low_priority_state.inclusive_low_watermark", *low);
  return bytes_of(*request);
}

replication_codec codec() {
  auto fields = replication_fields_of(*testing::temporal_schema());
  EXPECT_TRUE(fields) << fields.error();
  return replication_codec(*fields);
}

replication_switch make_switch(std::int32_t sources, std::int32_t targets) {
  return replication_switch(codec(), sources, targets, [](std::int32_t) { return true; });
}

// Workflow ids wf-0.. until every one of `targets` shards has at least `each` of them.
std::vector<task_spec> tasks_on_every_target(std::int32_t targets, std::size_t each, std::int64_t first_id) {
  std::map<std::int32_t, std::size_t> per_target;
  std::vector<task_spec> tasks;
  for (int i = 0; per_target.size() < static_cast<std::size_t>(targets) ||
                  std::any_of(per_target.begin(), per_target.end(), [&](auto& p) { return p.second < each; });
       ++i) {
    std::string id = "wf-" + std::to_string(i);
    ++per_target[shards::workflow_shard(namespace_id, id, targets)];
    tasks.push_back({id, first_id + static_cast<std::int64_t>(tasks.size())});
  }
  return tasks;
}

std::int64_t overall_ack(const std::string& request) {
  auto state = codec().read_request(request);
  EXPECT_TRUE(state && state->has_value());
  return (**state).overall.inclusive_low_watermark;
}

TEST(ReplicationSwitch, ABatchIsSplitByTemporalsPlacementWithAnIdSequencePerTarget) {
  auto routing = make_switch(4, 3);
  auto tasks = tasks_on_every_target(3, 2, 100);
  auto out = routing.from_source(2, source_response(tasks, 100 + static_cast<std::int64_t>(tasks.size())));
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(out->tasks_routed, tasks.size());
  // Nothing is applied yet: the source may hear at most that it stands at its first task.
  for (const auto& ack : out->sources)
    EXPECT_EQ(overall_ack(ack.message), tasks.front().id);
  ASSERT_EQ(out->targets.size(), 3u);
  std::size_t seen = 0;
  for (const auto& target : out->targets) {
    auto batch = codec().read_response(target.message);
    ASSERT_TRUE(batch && batch->has_value()) << batch.error();
    const auto& got = **batch;
    ASSERT_GE(got.tasks.size(), 2u);
    std::int64_t last_source_order = -1;
    for (std::size_t i = 0; i < got.tasks.size(); ++i) {
      EXPECT_EQ(got.tasks[i].source_task_id, static_cast<std::int64_t>(i + 1)) << "ids 1, 2, ... per target";
      EXPECT_EQ(shards::workflow_shard(namespace_id, got.tasks[i].workflow_id, 3), target.target);
      auto order = std::find_if(tasks.begin(), tasks.end(),
                                [&](const task_spec& t) { return t.workflow_id == got.tasks[i].workflow_id; }) -
                   tasks.begin();
      EXPECT_GT(order, last_source_order) << "source order is kept";
      last_source_order = order;
    }
    EXPECT_EQ(got.exclusive_high_watermark, static_cast<std::int64_t>(got.tasks.size() + 1));
    seen += got.tasks.size();
  }
  EXPECT_EQ(seen, tasks.size());
}

TEST(ReplicationSwitch, ASourceIsAckedOnlyAsFarAsEveryTargetApplied) {
  auto routing = make_switch(4, 3);
  auto tasks = tasks_on_every_target(3, 2, 100);
  auto watermark = 100 + static_cast<std::int64_t>(tasks.size());
  auto out = routing.from_source(1, source_response(tasks, watermark));
  ASSERT_TRUE(out) << out.error();
  std::map<std::int32_t, std::int64_t> target_watermark;
  for (const auto& target : out->targets)
    target_watermark[target.target] = (**codec().read_response(target.message)).exclusive_high_watermark;
  // Targets ack everything, one by one; the source's ack is its lowest task some target still holds.
  std::vector<std::int32_t> order = {3, 1, 2};
  std::set<std::int32_t> done;
  for (auto target : order) {
    auto acked = routing.from_target(target, target_ack(target_watermark[target]));
    ASSERT_TRUE(acked) << acked.error();
    done.insert(target);
    std::int64_t lowest_pending = watermark;
    for (const auto& task : tasks) {
      if (!done.count(shards::workflow_shard(namespace_id, task.workflow_id, 3))) {
        lowest_pending = task.id;
        break;
      }
    }
    if (acked->sources.empty()) {
      EXPECT_NE(done.size(), order.size()) << "the last ack must release the source";
      continue;
    }
    ASSERT_EQ(acked->sources.size(), 1u);
    EXPECT_EQ(acked->sources[0].source, 1);
    EXPECT_EQ(overall_ack(acked->sources[0].message), lowest_pending);
  }
  // A watermark-only batch moves the ack at once when nothing is pending.
  auto idle = routing.from_source(1, source_response({}, watermark + 50));
  ASSERT_TRUE(idle) << idle.error();
  EXPECT_TRUE(idle->targets.empty());
  ASSERT_EQ(idle->sources.size(), 1u);
  EXPECT_EQ(overall_ack(idle->sources[0].message), watermark + 50);
}

TEST(ReplicationSwitch, TieredAcksGoToASourceOnlyWithBothPriorities) {
  auto routing = make_switch(2, 3);
  auto high = routing.from_source(1, source_response({{"wf-high", 5}}, 6, task_priority_high));
  ASSERT_TRUE(high) << high.error();
  ASSERT_EQ(high->targets.size(), 1u);
  auto target = high->targets[0].target;
  auto sent = **codec().read_response(high->targets[0].message);
  EXPECT_EQ(sent.priority, task_priority_high);
  EXPECT_TRUE(high->sources.empty()) << "a tiered sender refuses a state without its low priority ack";
  auto low = routing.from_source(1, source_response({}, 9, task_priority_low));
  ASSERT_TRUE(low) << low.error();
  ASSERT_EQ(low->sources.size(), 1u);
  auto first = **codec().read_request(low->sources[0].message);
  ASSERT_TRUE(first.high_priority && first.low_priority);
  EXPECT_EQ(first.high_priority->inclusive_low_watermark, 5) << "the high task is not applied yet";
  EXPECT_EQ(first.low_priority->inclusive_low_watermark, 9);
  EXPECT_EQ(first.overall.inclusive_low_watermark, 5);
  auto acked = routing.from_target(target, target_ack(1, 2, 1));
  ASSERT_TRUE(acked) << acked.error();
  ASSERT_EQ(acked->sources.size(), 1u);
  auto state = **codec().read_request(acked->sources[0].message);
  ASSERT_TRUE(state.high_priority && state.low_priority);
  EXPECT_EQ(state.high_priority->inclusive_low_watermark, 6);
  EXPECT_EQ(state.low_priority->inclusive_low_watermark, 9);
  EXPECT_EQ(state.overall.inclusive_low_watermark, 6);
}

TEST(ReplicationSwitch, ALostTargetRestartsTheSourcesWithTasksItHeld) {
  auto routing = make_switch(4, 3);
  auto tasks = tasks_on_every_target(3, 1, 10);
  std::int32_t held_by = shards::workflow_shard(namespace_id, tasks[0].workflow_id, 3);
  ASSERT_TRUE(routing.from_source(3, source_response({tasks[0]}, tasks[0].id + 1)));
  EXPECT_TRUE(routing.target_lost(held_by == 1 ? 2 : 1).empty()) << "a target that held nothing costs nothing";
  EXPECT_EQ(routing.target_lost(held_by), std::vector<std::int32_t>{3});
  // The restarted source re-sends from its stored ack; the new target stream continues the sequence.
  auto again = routing.from_source(3, source_response({tasks[0]}, tasks[0].id + 1));
  ASSERT_TRUE(again) << again.error();
  ASSERT_EQ(again->targets.size(), 1u);
  EXPECT_EQ((**codec().read_response(again->targets[0].message)).tasks.at(0).source_task_id, 2);
}

TEST(ReplicationSwitch, BadMessagesAndShardsOutsideTheCountsAreRefused) {
  auto routing = make_switch(4, 3);
  auto out_of_range = routing.from_source(5, source_response({}, 1));
  ASSERT_FALSE(out_of_range);
  EXPECT_NE(out_of_range.error().find("source shard 5 of 4"), std::string::npos) << out_of_range.error();
  auto bad_target = routing.from_target(0, target_ack(1));
  ASSERT_FALSE(bad_target);
  auto malformed = routing.from_source(1, std::string("\x0a\x7f\x0a", 3));
  ASSERT_FALSE(malformed);
  EXPECT_NE(malformed.error().find("malformed"), std::string::npos) << malformed.error();
  // The switch goes on routing after a refusal.
  EXPECT_TRUE(routing.from_source(1, source_response({{"wf-1", 1}}, 2)));
}

}  // namespace
}  // namespace s2s::translation
