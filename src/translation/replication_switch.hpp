// shardCount.mode routing at the level of stream messages: a source stream's response becomes a response for each
// target shard it has tasks for, and a target's SyncReplicationState becomes the acks its sources may be sent. The
// routing rules are shards::replication_router's (docs/shard-counts.md); this adds the wire (replication_messages.hpp)
// and Temporal's priorities: one router per priority, as Temporal keeps a reader per priority with tiered processing.
//
// Sans-I/O: the stream actors that own the real streams feed it and send what it returns.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shards/replication_router.hpp"
#include "translation/replication_messages.hpp"

namespace s2s::translation {

class replication_switch {
 public:
  struct to_target {
    std::int32_t target = 0;
    std::string message;    // a StreamWorkflowReplicationMessagesResponse
    std::size_t tasks = 0;  // the replication tasks in it
  };
  struct to_source {
    std::int32_t source = 0;
    std::string message;  // a StreamWorkflowReplicationMessagesRequest
  };
  // An ack a source may be sent in one priority, before the priorities are put together into a request.
  struct ack_level {
    std::int32_t source = 0;
    std::int32_t priority = 0;
    std::int64_t inclusive_low_watermark = 0;
  };
  struct output {
    std::vector<to_target> targets;
    std::vector<to_source> sources;
    std::vector<ack_level> levels;  // every ack that rose, each priority apart (what sources were made of)
    std::size_t tasks_routed = 0;
    std::size_t tasks_left = 0;  // for shards another instance serves: left to it
    std::string problem;         // non-empty: something to log (a target acked beyond what it was sent)
  };

  replication_switch(replication_codec codec, std::int32_t source_count, std::int32_t target_count,
                     shards::shard_owner owner);

  // A response on the stream from source shard `source` (1..source_count).
  result<output> from_source(std::int32_t source, std::string_view message);
  // A request on the stream of target shard `target` (1..target_count).
  result<output> from_target(std::int32_t target, std::string_view message);
  // A target stream ended: the sources to end and reopen (already restarted here), in source order.
  std::vector<std::int32_t> target_lost(std::int32_t target);
  // A source stream ended and is being reopened.
  void source_restarted(std::int32_t source);
  // The request that acks `ack` in `priority` to `source`, as from_source and from_target make them: for a group,
  // whose instances each count their own targets' acks and one of them sends the least of them. Nothing while a
  // tiered source still waits for its other priority.
  std::optional<to_source> acknowledge(std::int32_t source, std::int32_t priority, std::int64_t ack);
  // Whether the stream's tasks were seen with priorities (Temporal's tiered processing).
  bool tiered() const { return tiered_; }
  // For every target of every priority seen so far: an empty batch at the watermark the target was last sent. A
  // receiver ends a stream that carried nothing for a while (three of the sender's idle intervals) and drops a batch
  // whose watermark is not above the last, so this keeps a target stream alive and changes nothing on it.
  std::vector<to_target> keepalive() const;

  struct priority_view {
    std::int32_t priority;
    shards::router_view router;
  };
  std::vector<priority_view> view() const;

 private:
  shards::replication_router& router(std::int32_t priority);
  // The request to send `source` after its acks in `priority` rose, or nothing when there is none to send yet.
  void ack_source(std::int32_t source, std::int32_t priority, std::int64_t ack, output& out);

  replication_codec codec_;
  std::int32_t source_count_;
  std::int32_t target_count_;
  shards::shard_owner owner_;
  std::map<std::int32_t, shards::replication_router> routers_;  // by TaskPriority: 0 (untiered), high, low
  // Tiered processing: the acks last computed per source and priority, since a source takes both at once.
  std::map<std::int32_t, std::map<std::int32_t, std::int64_t>> tiered_acks_;
  bool tiered_ = false;  // a target sent per-priority states
};

// Temporal's TaskPriority values (go.temporal.io/server/api/enums/v1).
inline constexpr std::int32_t task_priority_unspecified = 0;
inline constexpr std::int32_t task_priority_high = 1;
inline constexpr std::int32_t task_priority_low = 10;

}  // namespace s2s::translation
