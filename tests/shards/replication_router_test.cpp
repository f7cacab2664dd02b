// The routing core: tasks split per target shard with each target's own id sequence, and source acks that never
// pass a task some target has not acked, across out-of-order acks and restarts of either side.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "shards/replication_router.hpp"
#include "shards/workflow_shard.hpp"

namespace s2s::shards {
namespace {

const std::string namespace_id = "3f1c6c1e-8d2a-4c53-9d1e-5b0f7a2e4c11";

// A workflow id that Temporal places on `target` of `count` shards (workflow_shard is checked against Temporal's
// own function in temporal_hash_test.cpp).
std::string workflow_on(std::int32_t target, std::int32_t count, int nth = 0) {
  for (int i = 0;; ++i) {
    std::string id = "wf-" + std::to_string(i);
    if (workflow_shard(namespace_id, id, count) == target && nth-- == 0)
      return id;
  }
}

source_task task_for(std::int32_t target, std::int64_t task_id, int nth = 0) {
  return {namespace_id, workflow_on(target, 3, nth), task_id};
}

std::map<std::int32_t, target_batch> by_target(const routed_batch& routed) {
  std::map<std::int32_t, target_batch> batches;
  for (const auto& batch : routed.batches)
    batches[batch.target] = batch;
  return batches;
}

TEST(ReplicationRouter, SplitsABatchPerTargetShardInSourceOrderWithEachTargetsOwnIds) {
  replication_router router(4, 3, nullptr);
  auto first = router.route({2, {task_for(1, 100), task_for(3, 105), task_for(1, 107), task_for(2, 110)}, 111});
  auto batches = by_target(first);
  ASSERT_EQ(batches.size(), 3u);
  ASSERT_EQ(batches[1].tasks.size(), 2u);
  EXPECT_EQ(batches[1].tasks[0].index, 0u);
  EXPECT_EQ(batches[1].tasks[0].task_id, 1);
  EXPECT_EQ(batches[1].tasks[1].index, 2u);
  EXPECT_EQ(batches[1].tasks[1].task_id, 2);
  EXPECT_EQ(batches[1].exclusive_high_watermark, 3);
  EXPECT_EQ(batches[3].tasks[0].task_id, 1);
  EXPECT_EQ(batches[2].tasks[0].task_id, 1);
  // Nothing is acked by a target yet: the source may only hear that everything below its first task is done.
  EXPECT_EQ(first.acks, (std::vector<source_ack>{{2, 100}}));
  // Another source's tasks continue the same target sequence, strictly increasing with the watermark.
  auto second = by_target(router.route({4, {task_for(1, 7)}, 8}));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[1].tasks[0].task_id, 3);
  EXPECT_EQ(second[1].exclusive_high_watermark, 4);
}

TEST(ReplicationRouter, EveryTargetShardGetsTheWorkflowsTemporalPlacesOnIt) {
  replication_router router(4, 3, nullptr);
  for (std::int32_t target = 1; target <= 3; ++target) {
    auto routed = router.route({1, {task_for(target, 10 * target)}, 10 * target + 1});
    ASSERT_EQ(routed.batches.size(), 1u);
    EXPECT_EQ(routed.batches[0].target, target);
  }
}

TEST(ReplicationRouter, SourceAckWaitsUntilEveryTargetAckedItsTasksWhateverTheirOrder) {
  replication_router router(4, 3, nullptr);
  // Source 1: ids 10 (to 1), 20 (to 2), 30 (to 1), watermark 31. Target 1 sees ids 1 and 2, target 2 sees id 1.
  EXPECT_EQ(router.route({1, {task_for(1, 10), task_for(2, 20), task_for(1, 30)}, 31}).acks,
            (std::vector<source_ack>{{1, 10}}));
  // Target 2 acks first: 20 is done but 10 is not, so the source stays at 10, already sent.
  EXPECT_TRUE(router.target_acked(2, 2).acks.empty());
  // Target 1 acks its first task: 10 done, 20 done, 30 pending.
  EXPECT_EQ(router.target_acked(1, 2).acks, (std::vector<source_ack>{{1, 30}}));
  // Repeating an ack moves nothing and sends nothing.
  EXPECT_TRUE(router.target_acked(1, 2).acks.empty());
  // Target 1 acks the rest: nothing pending, so the source's ack is its watermark.
  EXPECT_EQ(router.target_acked(1, 3).acks, (std::vector<source_ack>{{1, 31}}));
}

TEST(ReplicationRouter, AcksOfOneTargetMoveEverySourceWhoseTasksItHeld) {
  replication_router router(4, 3, nullptr);
  router.route({1, {task_for(3, 5)}, 6});
  router.route({2, {task_for(3, 50)}, 51});
  router.route({3, {task_for(3, 9), task_for(1, 12)}, 13});
  auto acks = router.target_acked(3, 4).acks;
  EXPECT_EQ(acks, (std::vector<source_ack>{{1, 6}, {2, 51}, {3, 12}}));
}

TEST(ReplicationRouter, WatermarkOnlyBatchMovesTheAckWhenNothingIsPendingAndNotPastAPendingTask) {
  replication_router router(4, 3, nullptr);
  auto empty = router.route({1, {}, 40});
  EXPECT_TRUE(empty.batches.empty()) << "a watermark alone goes to no target";
  EXPECT_EQ(empty.acks, (std::vector<source_ack>{{1, 40}}));
  router.route({1, {task_for(2, 41)}, 42});
  auto later = router.route({1, {}, 60});
  EXPECT_TRUE(later.acks.empty()) << "task 41 is not acked yet";
  EXPECT_EQ(router.target_acked(2, 2).acks, (std::vector<source_ack>{{1, 60}}));
}

TEST(ReplicationRouter, IgnoresAStaleWatermarkAndTasksNotAboveTheLastAsTemporalDoes) {
  replication_router router(4, 3, nullptr);
  router.route({1, {task_for(1, 10)}, 20});
  EXPECT_TRUE(router.route({1, {task_for(1, 15)}, 20}).stale);
  auto routed = router.route({1, {task_for(1, 10), task_for(1, 21)}, 30});
  EXPECT_EQ(routed.skipped, (std::vector<std::size_t>{0}));
  ASSERT_EQ(routed.batches.size(), 1u);
  EXPECT_EQ(routed.batches[0].tasks[0].index, 1u);
}

TEST(ReplicationRouter, ALostTargetRestartsTheSourcesWithTasksPendingThereAndTheResentTasksGetNewIds) {
  replication_router router(4, 3, nullptr);
  router.route({1, {task_for(1, 10), task_for(2, 11)}, 12});
  router.route({2, {task_for(2, 20)}, 21});
  router.route({3, {task_for(1, 30)}, 31});
  router.target_acked(1, 2);  // source 1's task 10 applied; source 3's task 30 (target id 2) not
  // Target 1 ends: source 3 has a task there that may be lost; source 1 has none; source 2 never used it.
  EXPECT_EQ(router.target_lost(1), (std::vector<std::int32_t>{3}));
  // Source 3 re-sends from its stored ack; target 1's new stream continues the sequence.
  auto resent = router.route({3, {task_for(1, 30)}, 31});
  ASSERT_EQ(resent.batches.size(), 1u);
  EXPECT_EQ(resent.batches[0].tasks[0].task_id, 3);
  EXPECT_EQ(router.target_acked(1, 4).acks, (std::vector<source_ack>{{3, 31}}));
  // Source 1's ack still waits for target 2.
  EXPECT_EQ(router.target_acked(2, 3).acks, (std::vector<source_ack>{{1, 12}, {2, 21}}));
}

TEST(ReplicationRouter, ARestartedSourceIgnoresLateAcksForItsEarlierStream) {
  replication_router router(4, 3, nullptr);
  router.route({1, {task_for(1, 10), task_for(2, 11)}, 12});
  router.source_restarted(1);
  // The source re-sends from its stored ack, older than both tasks.
  // The new stream's first ack repeats the stored one: sent again, as the source may have stored an older one.
  EXPECT_EQ(router.route({1, {task_for(1, 10), task_for(2, 11)}, 12}).acks, (std::vector<source_ack>{{1, 10}}));
  // Target 2 acks both its copies of task 11; target 1 acks only the first copy of task 10 (target id 1): the
  // second copy (id 2) is pending, so the source may not pass 10.
  EXPECT_TRUE(router.target_acked(2, 3).acks.empty());
  EXPECT_TRUE(router.target_acked(1, 2).acks.empty());
  EXPECT_EQ(router.target_acked(1, 3).acks, (std::vector<source_ack>{{1, 12}}));
}

// In a group, the instance that serves target 2 counts task 11: here it holds nothing back.
TEST(ReplicationRouter, ATaskForAShardServedElsewhereIsLeftToItsInstance) {
  replication_router router(4, 3, [](std::int32_t target) { return target != 2; });
  auto routed = router.route({1, {task_for(1, 10), task_for(2, 11)}, 12});
  EXPECT_EQ(routed.not_owned, (std::vector<std::size_t>{1}));
  ASSERT_EQ(routed.batches.size(), 1u);
  EXPECT_EQ(routed.acks, (std::vector<source_ack>{{1, 10}}));
  EXPECT_EQ(router.target_acked(1, 2).acks, (std::vector<source_ack>{{1, 12}}));
}

TEST(ReplicationRouter, AnAckBeyondWhatATargetWasSentIsAProblem) {
  replication_router router(4, 3, nullptr);
  router.route({1, {task_for(1, 10)}, 11});
  auto acks = router.target_acked(1, 9);
  EXPECT_NE(acks.problem.find("target shard 1 acknowledged task ids up to 9"), std::string::npos) << acks.problem;
  EXPECT_EQ(acks.acks, (std::vector<source_ack>{{1, 11}}));
}

TEST(ReplicationRouter, ViewShowsEachTargetsSequenceAndEachSourcesState) {
  replication_router router(2, 3, nullptr);
  router.route({2, {task_for(3, 4)}, 5});
  auto view = router.view();
  ASSERT_EQ(view.targets.size(), 3u);
  EXPECT_EQ(view.targets[2].next_task_id, 2);
  EXPECT_EQ(view.targets[2].pending, 1u);
  ASSERT_EQ(view.sources.size(), 2u);
  EXPECT_EQ(view.sources[1].watermark, 5);
  EXPECT_EQ(view.sources[1].pending, 1u);
  EXPECT_FALSE(view.sources[0].watermark);
}

}  // namespace
}  // namespace s2s::shards
