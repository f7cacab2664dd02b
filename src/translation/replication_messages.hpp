// The messages of AdminService/StreamWorkflowReplicationMessages as shardCount.mode routing reads and writes them:
// a sender's batch of replication tasks (the workflow of each task, its id, the batch's watermark and priority), and a
// receiver's SyncReplicationState (its acks). Tasks are kept as the bytes they arrived in; writing a batch for a target
// copies each task with only its source_task_id replaced, so every field this code does not know passes unchanged.
//
// Field numbers are looked up by name in the schema the proxy runs on, not compiled in: they differ between Temporal
// versions (ReplicationTask.sync_hsm_attributes is 12 in one and 14 in another), and a name the schema lacks is a
// clear error when routing starts rather than a misread stream.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "translation/schema.hpp"
#include "translation/status.hpp"

namespace s2s::translation {

// Where a task's workflow is named: a field path of (namespace id, workflow id) inside one attribute of the task.
struct workflow_key_path {
  std::uint32_t attribute = 0;       // the ReplicationTask field holding it
  std::vector<std::uint32_t> inner;  // message fields from the attribute down to the one holding the ids
  std::uint32_t namespace_id = 0;
  std::uint32_t workflow_id = 0;
};

// The field numbers routing needs, resolved from a schema.
struct replication_fields {
  std::uint32_t response_messages = 0;           // StreamWorkflowReplicationMessagesResponse.messages
  std::uint32_t request_sync_state = 0;          // StreamWorkflowReplicationMessagesRequest.sync_replication_state
  std::uint32_t batch_tasks = 0;                 // WorkflowReplicationMessages.replication_tasks
  std::uint32_t batch_watermark = 0;             // .exclusive_high_watermark
  std::uint32_t batch_watermark_time = 0;        // .exclusive_high_watermark_time
  std::uint32_t batch_priority = 0;              // .priority
  std::uint32_t task_source_task_id = 0;         // ReplicationTask.source_task_id
  std::uint32_t task_priority = 0;               // ReplicationTask.priority (0: the schema has none)
  std::vector<workflow_key_path> task_workflow;  // raw_task_info first, then the attributes, as Temporal reads them
  std::uint32_t state_low_watermark = 0;         // SyncReplicationState.inclusive_low_watermark
  std::uint32_t state_low_watermark_time = 0;    // .inclusive_low_watermark_time
  std::uint32_t state_high_priority = 0;         // .high_priority_state (0: the schema has none)
  std::uint32_t state_low_priority = 0;          // .low_priority_state
  std::uint32_t priority_low_watermark = 0;      // ReplicationState.inclusive_low_watermark
  std::uint32_t priority_low_watermark_time = 0;
};

// Fails naming the first message or field the schema lacks.
result<replication_fields> replication_fields_of(const schema& types);

// One task of a batch, pointing into the message it was read from.
struct replication_task_view {
  std::string_view bytes;  // the ReplicationTask, as encoded
  std::string namespace_id;
  std::string workflow_id;  // both empty: the task names no workflow (a namespace or task-queue task)
  std::int64_t source_task_id = 0;
};

// A WorkflowReplicationMessages, pointing into the message it was read from.
struct replication_batch_view {
  std::vector<replication_task_view> tasks;
  std::int64_t exclusive_high_watermark = 0;
  std::string_view watermark_time;  // the encoded Timestamp; empty when absent
  std::int32_t priority = 0;
};

// An inclusive low watermark, with the time the receiver gave it (an encoded Timestamp, possibly empty).
struct replication_ack {
  std::int64_t inclusive_low_watermark = 0;
  std::string time;
  bool operator==(const replication_ack&) const = default;
};

// A SyncReplicationState: the overall ack, and with tiered processing one per priority.
struct replication_state {
  replication_ack overall;
  std::optional<replication_ack> high_priority;
  std::optional<replication_ack> low_priority;
  bool operator==(const replication_state&) const = default;
};

class replication_codec {
 public:
  explicit replication_codec(replication_fields fields) : fields_(std::move(fields)) {}

  // A StreamWorkflowReplicationMessagesResponse. nullopt in the value: the response carries no batch (a oneof case
  // this code does not know, passed on as it is by the caller). The views point into `message`.
  result<std::optional<replication_batch_view>> read_response(std::string_view message) const;
  // A response for a target: the batch's tasks picked by index, each with the id given, the watermark given, and the
  // batch's watermark time and priority.
  std::string write_response(const replication_batch_view& batch,
                             const std::vector<std::pair<std::size_t, std::int64_t>>& tasks,
                             std::int64_t exclusive_high_watermark) const;

  // A StreamWorkflowReplicationMessagesRequest; nullopt in the value: it carries no SyncReplicationState.
  result<std::optional<replication_state>> read_request(std::string_view message) const;
  std::string write_request(const replication_state& state) const;

  const replication_fields& fields() const { return fields_; }

 private:
  result<replication_task_view> read_task(std::string_view bytes, std::string_view origin) const;
  replication_fields fields_;
};

}  // namespace s2s::translation
