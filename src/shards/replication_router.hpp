// The sans-I/O core of shardCount.mode routing: which target shard gets each replication task, the id sequence of
// each target stream, and the per-source acks that follow from the targets' acks (docs/shard-counts.md).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace s2s::shards {

// Whether this proxy instance serves a target shard. With one instance per side every shard is served. In a group
// (several instances per side) a task for a shard another instance serves is that instance's to deliver and to
// count: here it neither goes out nor holds its source's ack back.
using shard_owner = std::function<bool(std::int32_t target_shard)>;

// Workflow -> target shard, with Temporal's placement for the receiving cluster's count.
class routing_table {
 public:
  routing_table(std::int32_t target_count, shard_owner owner);
  std::int32_t target_count() const { return target_count_; }
  std::int32_t target_of(std::string_view namespace_id, std::string_view workflow_id) const;
  bool owns(std::int32_t target_shard) const { return owner_(target_shard); }

 private:
  std::int32_t target_count_;
  shard_owner owner_;
};

// One replication task as a source stream carried it: the workflow it belongs to and its source task id.
struct source_task {
  std::string namespace_id;
  std::string workflow_id;
  std::int64_t task_id = 0;
};

// A WorkflowReplicationMessages from source shard `source`.
struct source_batch {
  std::int32_t source = 0;
  std::vector<source_task> tasks;
  std::int64_t exclusive_high_watermark = 0;
};

// A task of a source batch as it goes to a target: its index in the batch and the id the target sees.
struct target_task {
  std::size_t index = 0;
  std::int64_t task_id = 0;
};

// A WorkflowReplicationMessages for target shard `target`.
struct target_batch {
  std::int32_t target = 0;
  std::vector<target_task> tasks;
  std::int64_t exclusive_high_watermark = 0;
};

// The inclusive low watermark to send to source shard `source` in a SyncReplicationState.
struct source_ack {
  std::int32_t source = 0;
  std::int64_t inclusive_low_watermark = 0;
  bool operator==(const source_ack&) const = default;
};

struct routed_batch {
  std::vector<target_batch> batches;   // at most one per target, in target order; tasks in source order
  std::vector<std::size_t> not_owned;  // indices of tasks for shards another instance serves: left to it
  std::vector<std::size_t> skipped;    // indices of tasks whose id was not above the source's last (as Temporal)
  std::vector<source_ack> acks;        // a watermark-only batch can move its source's ack at once
  bool stale = false;                  // the watermark was not above the last one: ignored whole (as Temporal)
};

struct acked {
  std::vector<source_ack> acks;  // sources whose ack rose, in source order
  std::string problem;           // non-empty: the target acked beyond what it was sent (the ack was clamped)
};

// Per target stream: the ids it is given, and which source task each unacked id stands for.
class target_sequence {
 public:
  struct entry {
    std::int64_t task_id;  // as the target sees it
    std::int32_t source;
    std::uint64_t source_generation;
    std::int64_t source_task_id;
  };
  std::int64_t assign(std::int32_t source, std::uint64_t generation, std::int64_t source_task_id);
  std::int64_t exclusive_high_watermark() const { return next_id_; }
  // Removes and returns the entries below `inclusive_low_watermark` (clamped to what was assigned).
  std::vector<entry> acknowledge(std::int64_t inclusive_low_watermark);
  std::vector<entry> take_all();
  std::size_t pending() const { return unacked_.size(); }

 private:
  std::int64_t next_id_ = 1;
  std::deque<entry> unacked_;
};

// Per source shard: the task ids still unacked by their targets, and what the source said it sent.
class source_ack_tracker {
 public:
  std::uint64_t generation() const { return generation_; }
  std::optional<std::int64_t> last_task_id() const { return last_task_id_; }
  std::optional<std::int64_t> watermark() const { return watermark_; }
  std::size_t pending() const { return pending_.size(); }
  void add(std::int64_t task_id);
  void set_watermark(std::int64_t exclusive_high_watermark) { watermark_ = exclusive_high_watermark; }
  void done(std::uint64_t generation, std::int64_t task_id);
  // The ack to send when it rose since the last one sent (and records it as sent).
  std::optional<std::int64_t> take_rising_ack();
  // A new stream from this source: everything it had sent is forgotten; it re-sends from its stored ack.
  void restart();

 private:
  std::uint64_t generation_ = 0;
  std::set<std::int64_t> pending_;
  std::optional<std::int64_t> last_task_id_;
  std::optional<std::int64_t> watermark_;
  std::optional<std::int64_t> sent_ack_;
};

// What /debug/connections shows of a router.
struct router_view {
  struct target {
    std::int32_t shard;
    std::int64_t next_task_id;
    std::size_t pending;
  };
  struct source {
    std::int32_t shard;
    std::uint64_t generation;
    std::optional<std::int64_t> watermark;
    std::size_t pending;
  };
  std::vector<target> targets;
  std::vector<source> sources;
};

// One direction and one priority of one connection: source shards 1..source_count, target shards 1..target_count.
class replication_router {
 public:
  replication_router(std::int32_t source_count, std::int32_t target_count, shard_owner owner);

  // Routes a batch from a source stream. `batch.source` is in 1..source_count.
  routed_batch route(const source_batch& batch);
  // A target's SyncReplicationState: every task it was sent with an id below `inclusive_low_watermark` is applied.
  acked target_acked(std::int32_t target, std::int64_t inclusive_low_watermark);
  // A target stream ended with tasks maybe unapplied: the sources to end and reopen so that they re-send them
  // (each is restarted here already), in source order.
  std::vector<std::int32_t> target_lost(std::int32_t target);
  // A source stream ended and is being reopened.
  void source_restarted(std::int32_t source);

  router_view view() const;

 private:
  routing_table table_;
  std::map<std::int32_t, target_sequence> targets_;
  std::map<std::int32_t, source_ack_tracker> sources_;
};

}  // namespace s2s::shards
