#include "translation/replication_messages.hpp"

#include <google/protobuf/descriptor.h>

#include "translation/wire.hpp"

namespace s2s::translation {

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

constexpr std::string_view admin_package = "temporal.server.api.adminservice.v1.";
constexpr std::string_view replication_package = "temporal.server.api.replication.v1.";

// Looks names up in a schema and remembers the first one missing.
class lookup {
 public:
  explicit lookup(const schema& types) : types_(types) {}

  const Descriptor* message(std::string_view package, std::string_view name) {
    auto full = std::string(package) + std::string(name);
    const auto* found = types_.find_message(full);
    if (found == nullptr)
      miss("message " + full);
    return found;
  }
  // The field's number; 0 when absent (a miss unless `optional`).
  std::uint32_t field(const Descriptor* in, std::string_view name, bool optional = false,
                      const Descriptor** type = nullptr) {
    if (in == nullptr)
      return 0;
    const auto* found = in->FindFieldByName(std::string(name));
    if (found == nullptr) {
      if (!optional)
        miss("field " + in->full_name() + "." + std::string(name));
      return 0;
    }
    if (type != nullptr)
      *type = found->message_type();
    return static_cast<std::uint32_t>(found->number());
  }
  const std::string& missing() const { return missing_; }

 private:
  void miss(std::string what) {
    if (missing_.empty())
      missing_ = std::move(what);
  }
  const schema& types_;
  std::string missing_;
};

// A (namespace id, workflow id) pair at `inner` below the ReplicationTask's field `attribute_name`; absent attributes
// (an older Temporal) are skipped.
void add_key_path(lookup& names, const Descriptor* task, std::string_view attribute_name,
                  const std::vector<std::string_view>& inner, std::string_view namespace_field,
                  std::string_view workflow_field, std::vector<workflow_key_path>& out) {
  const Descriptor* type = nullptr;
  workflow_key_path path;
  path.attribute = names.field(task, attribute_name, true, &type);
  if (path.attribute == 0 || type == nullptr)
    return;
  for (auto name : inner) {
    const Descriptor* next = nullptr;
    auto number = names.field(type, name, true, &next);
    if (number == 0 || next == nullptr)
      return;
    path.inner.push_back(number);
    type = next;
  }
  path.namespace_id = names.field(type, namespace_field, true);
  path.workflow_id = names.field(type, workflow_field, true);
  if (path.namespace_id != 0 && path.workflow_id != 0)
    out.push_back(std::move(path));
}

void append_varint_field(std::string& out, std::uint32_t number, std::uint64_t value) {
  wire::append_tag(out, number, wire::wire_type::varint);
  wire::append_varint(out, value);
}

void append_bytes_field(std::string& out, std::uint32_t number, std::string_view payload) {
  wire::append_tag(out, number, wire::wire_type::length_delimited);
  wire::append_varint(out, payload.size());
  out.append(payload);
}

std::string malformed(std::string_view what, const wire::reader& in) {
  return "malformed " + std::string(what) + ": " + in.error();
}

// The payload of the last length-delimited field `number` of a message (protobuf merges repeated occurrences of a
// message field, but the fields read here are scalars and strings, for which the last one wins).
struct found_field {
  bool present = false;
  std::string_view payload;
  std::uint64_t varint = 0;
};

// The last length-delimited field `number` of `message` (the oneof case a stream message carries).
result<found_field> top_level_message(std::string_view message, std::uint32_t number, std::string_view type) {
  found_field found;
  wire::reader outer(message.data(), message.data() + message.size(), message.data());
  while (!outer.at_end()) {
    wire::field f;
    if (!outer.read(f))
      return result<found_field>::failure(malformed(type, outer));
    if (f.number == number && f.type == wire::wire_type::length_delimited)
      found = {true, f.payload(), 0};
  }
  return found;
}

}  // namespace

result<replication_fields> replication_fields_of(const schema& types) {
  lookup names(types);
  replication_fields fields;
  const auto* response = names.message(admin_package, "StreamWorkflowReplicationMessagesResponse");
  const auto* request = names.message(admin_package, "StreamWorkflowReplicationMessagesRequest");
  const auto* batch = names.message(replication_package, "WorkflowReplicationMessages");
  const auto* task = names.message(replication_package, "ReplicationTask");
  const auto* state = names.message(replication_package, "SyncReplicationState");
  fields.response_messages = names.field(response, "messages");
  fields.request_sync_state = names.field(request, "sync_replication_state");
  fields.batch_tasks = names.field(batch, "replication_tasks");
  fields.batch_watermark = names.field(batch, "exclusive_high_watermark");
  fields.batch_watermark_time = names.field(batch, "exclusive_high_watermark_time");
  fields.batch_priority = names.field(batch, "priority", true);
  fields.task_source_task_id = names.field(task, "source_task_id");
  fields.task_priority = names.field(task, "priority", true);
  fields.state_low_watermark = names.field(state, "inclusive_low_watermark");
  fields.state_low_watermark_time = names.field(state, "inclusive_low_watermark_time");
  const Descriptor* priority_state = nullptr;
  fields.state_high_priority = names.field(state, "high_priority_state", true, &priority_state);
  fields.state_low_priority = names.field(state, "low_priority_state", true);
  if (priority_state != nullptr) {
    fields.priority_low_watermark = names.field(priority_state, "inclusive_low_watermark");
    fields.priority_low_watermark_time = names.field(priority_state, "inclusive_low_watermark_time");
  }
  if (task != nullptr) {
    // The order Temporal's receiver reads a task's workflow in: raw_task_info when set, else the attribute.
    add_key_path(names, task, "raw_task_info", {}, "namespace_id", "workflow_id", fields.task_workflow);
    for (auto attribute : {"history_task_attributes", "sync_activity_task_attributes", "sync_hsm_attributes",
                           "backfill_history_task_attributes", "verify_versioned_transition_task_attributes",
                           "sync_versioned_transition_task_attributes"})
      add_key_path(names, task, attribute, {}, "namespace_id", "workflow_id", fields.task_workflow);
    add_key_path(names, task, "sync_workflow_state_task_attributes", {"workflow_state", "execution_info"},
                 "namespace_id", "workflow_id", fields.task_workflow);
    if (fields.task_workflow.empty() && names.missing().empty())
      return result<replication_fields>::failure(
          "the schema's ReplicationTask names no workflow in any attribute routing knows");
  }
  if (!names.missing().empty())
    return result<replication_fields>::failure("the schema lacks " + names.missing() +
                                               ", which shardCount.mode routing reads");
  return fields;
}

result<replication_task_view> replication_codec::read_task(std::string_view bytes, std::string_view origin) const {
  replication_task_view task;
  task.bytes = bytes;
  // The attribute fields present, by their place in task_workflow (the first one found decides).
  std::size_t best = fields_.task_workflow.size();
  std::string_view best_payload;
  wire::reader in(bytes.data(), bytes.data() + bytes.size(), origin.data());
  while (!in.at_end()) {
    wire::field f;
    if (!in.read(f))
      return result<replication_task_view>::failure(malformed("ReplicationTask", in));
    if (f.number == fields_.task_source_task_id && f.type == wire::wire_type::varint) {
      task.source_task_id = static_cast<std::int64_t>(f.varint);
      continue;
    }
    if (f.type != wire::wire_type::length_delimited)
      continue;
    for (std::size_t i = 0; i < best; ++i) {
      if (fields_.task_workflow[i].attribute == f.number) {
        best = i;
        best_payload = f.payload();
        break;
      }
    }
  }
  if (best == fields_.task_workflow.size())
    return task;
  const auto& path = fields_.task_workflow[best];
  auto message = best_payload;
  for (auto number : path.inner) {
    found_field inner;
    wire::reader descend(message.data(), message.data() + message.size(), origin.data());
    while (!descend.at_end()) {
      wire::field f;
      if (!descend.read(f))
        return result<replication_task_view>::failure(malformed("ReplicationTask attribute", descend));
      if (f.number == number && f.type == wire::wire_type::length_delimited)
        inner = {true, f.payload(), 0};
    }
    if (!inner.present)
      return task;
    message = inner.payload;
  }
  wire::reader ids(message.data(), message.data() + message.size(), origin.data());
  while (!ids.at_end()) {
    wire::field f;
    if (!ids.read(f))
      return result<replication_task_view>::failure(malformed("ReplicationTask attribute", ids));
    if (f.type != wire::wire_type::length_delimited)
      continue;
    if (f.number == path.namespace_id)
      task.namespace_id = std::string(f.payload());
    else if (f.number == path.workflow_id)
      task.workflow_id = std::string(f.payload());
  }
  return task;
}

result<std::optional<replication_batch_view>> replication_codec::read_response(std::string_view message) const {
  using answer = result<std::optional<replication_batch_view>>;
  auto messages = top_level_message(message, fields_.response_messages, "StreamWorkflowReplicationMessagesResponse");
  if (!messages)
    return answer::failure(messages.error());
  if (!messages->present)
    return std::optional<replication_batch_view>{};
  replication_batch_view batch;
  auto body = messages->payload;
  wire::reader in(body.data(), body.data() + body.size(), message.data());
  while (!in.at_end()) {
    wire::field f;
    if (!in.read(f))
      return answer::failure(malformed("WorkflowReplicationMessages", in));
    if (f.number == fields_.batch_tasks && f.type == wire::wire_type::length_delimited) {
      auto task = read_task(f.payload(), message);
      if (!task)
        return answer::failure(task.error());
      batch.tasks.push_back(std::move(*task));
    } else if (f.number == fields_.batch_watermark && f.type == wire::wire_type::varint) {
      batch.exclusive_high_watermark = static_cast<std::int64_t>(f.varint);
    } else if (f.number == fields_.batch_watermark_time && f.type == wire::wire_type::length_delimited) {
      batch.watermark_time = f.payload();
    } else if (fields_.batch_priority != 0 && f.number == fields_.batch_priority && f.type == wire::wire_type::varint) {
      batch.priority = static_cast<std::int32_t>(f.varint);
    }
  }
  return std::optional<replication_batch_view>{std::move(batch)};
}

std::string replication_codec::write_response(const replication_batch_view& batch,
                                              const std::vector<std::pair<std::size_t, std::int64_t>>& tasks,
                                              std::int64_t exclusive_high_watermark) const {
  // Tasks carry history blobs of up to megabytes: the response is sized first and written once, each task as the
  // runs of its fields other than source_task_id followed by the new id.
  auto tag_size = [](std::uint32_t number) { return wire::varint_size(std::uint64_t(number) << 3); };
  auto varint_field_size = [&](std::uint32_t number, std::uint64_t value) {
    return tag_size(number) + wire::varint_size(value);
  };
  auto bytes_field_size = [&](std::uint32_t number, std::size_t payload) {
    return tag_size(number) + wire::varint_size(payload) + payload;
  };
  struct kept_task {
    std::vector<std::string_view> runs;
    std::size_t size = 0;
    std::uint64_t id = 0;
  };
  std::vector<kept_task> kept(tasks.size());
  std::size_t body_size = 0;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const auto& task = batch.tasks.at(tasks[i].first);
    auto& out = kept[i];
    out.id = static_cast<std::uint64_t>(tasks[i].second);
    // The bytes were read whole by read_task, so this pass over them cannot fail.
    wire::reader in(task.bytes.data(), task.bytes.data() + task.bytes.size(), task.bytes.data());
    const char* run = task.bytes.data();
    while (!in.at_end()) {
      wire::field f;
      if (!in.read(f))
        break;
      if (f.number == fields_.task_source_task_id) {
        if (f.begin != run)
          out.runs.emplace_back(run, static_cast<std::size_t>(f.begin - run));
        run = f.end;
      }
    }
    const char* end = task.bytes.data() + task.bytes.size();
    if (run != end)
      out.runs.emplace_back(run, static_cast<std::size_t>(end - run));
    for (auto part : out.runs)
      out.size += part.size();
    out.size += varint_field_size(fields_.task_source_task_id, out.id);
    body_size += bytes_field_size(fields_.batch_tasks, out.size);
  }
  auto watermark = static_cast<std::uint64_t>(exclusive_high_watermark);
  body_size += varint_field_size(fields_.batch_watermark, watermark);
  if (!batch.watermark_time.empty())
    body_size += bytes_field_size(fields_.batch_watermark_time, batch.watermark_time.size());
  bool with_priority = batch.priority != 0 && fields_.batch_priority != 0;
  if (with_priority)
    body_size += varint_field_size(fields_.batch_priority, static_cast<std::uint64_t>(batch.priority));

  std::string out;
  out.reserve(bytes_field_size(fields_.response_messages, body_size));
  wire::append_tag(out, fields_.response_messages, wire::wire_type::length_delimited);
  wire::append_varint(out, body_size);
  for (const auto& task : kept) {
    wire::append_tag(out, fields_.batch_tasks, wire::wire_type::length_delimited);
    wire::append_varint(out, task.size);
    for (auto part : task.runs)
      out.append(part);
    append_varint_field(out, fields_.task_source_task_id, task.id);
  }
  append_varint_field(out, fields_.batch_watermark, watermark);
  if (!batch.watermark_time.empty())
    append_bytes_field(out, fields_.batch_watermark_time, batch.watermark_time);
  if (with_priority)
    append_varint_field(out, fields_.batch_priority, static_cast<std::uint64_t>(batch.priority));
  return out;
}

namespace {

// The inclusive low watermark and its time in a SyncReplicationState or a ReplicationState.
bool read_ack(std::string_view bytes, const char* origin, std::uint32_t watermark, std::uint32_t time,
              replication_ack& ack, std::string& error) {
  wire::reader in(bytes.data(), bytes.data() + bytes.size(), origin);
  while (!in.at_end()) {
    wire::field f;
    if (!in.read(f)) {
      error = malformed("SyncReplicationState", in);
      return false;
    }
    if (f.number == watermark && f.type == wire::wire_type::varint)
      ack.inclusive_low_watermark = static_cast<std::int64_t>(f.varint);
    else if (f.number == time && f.type == wire::wire_type::length_delimited)
      ack.time = std::string(f.payload());
  }
  return true;
}

void write_ack(std::string& out, const replication_ack& ack, std::uint32_t watermark, std::uint32_t time) {
  append_varint_field(out, watermark, static_cast<std::uint64_t>(ack.inclusive_low_watermark));
  if (!ack.time.empty())
    append_bytes_field(out, time, ack.time);
}

}  // namespace

result<std::optional<replication_state>> replication_codec::read_request(std::string_view message) const {
  using answer = result<std::optional<replication_state>>;
  auto found = top_level_message(message, fields_.request_sync_state, "StreamWorkflowReplicationMessagesRequest");
  if (!found)
    return answer::failure(found.error());
  if (!found->present)
    return std::optional<replication_state>{};
  const auto& sync = *found;
  replication_state state;
  std::string error;
  if (!read_ack(sync.payload, message.data(), fields_.state_low_watermark, fields_.state_low_watermark_time,
                state.overall, error))
    return answer::failure(error);
  wire::reader in(sync.payload.data(), sync.payload.data() + sync.payload.size(), message.data());
  while (!in.at_end()) {
    wire::field f;
    if (!in.read(f))
      return answer::failure(malformed("SyncReplicationState", in));
    if (f.type != wire::wire_type::length_delimited || fields_.state_high_priority == 0)
      continue;
    std::optional<replication_ack>* slot = nullptr;
    if (f.number == fields_.state_high_priority)
      slot = &state.high_priority;
    else if (f.number == fields_.state_low_priority)
      slot = &state.low_priority;
    if (slot == nullptr)
      continue;
    replication_ack ack;
    if (!read_ack(f.payload(), message.data(), fields_.priority_low_watermark, fields_.priority_low_watermark_time, ack,
                  error))
      return answer::failure(error);
    *slot = std::move(ack);
  }
  return std::optional<replication_state>{std::move(state)};
}

std::string replication_codec::write_request(const replication_state& state) const {
  std::string body;
  write_ack(body, state.overall, fields_.state_low_watermark, fields_.state_low_watermark_time);
  for (auto [slot, number] : {std::pair{&state.high_priority, fields_.state_high_priority},
                              std::pair{&state.low_priority, fields_.state_low_priority}}) {
    if (!slot->has_value() || number == 0)
      continue;
    std::string inner;
    write_ack(inner, **slot, fields_.priority_low_watermark, fields_.priority_low_watermark_time);
    append_bytes_field(body, number, inner);
  }
  std::string out;
  append_bytes_field(out, fields_.request_sync_state, body);
  return out;
}

}  // namespace s2s::translation
