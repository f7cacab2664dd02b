// The ends of the replication streams a routing hub meets, for the hub's tests on CAF's deterministic scheduler: the
// receiving cluster's target streams, the sending cluster's source streams, and Temporal's encodings of a batch and an
// ack.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/send.hpp>

#include "actors/call/call.hpp"
#include "actors/upstream.hpp"
#include "byte_buffers.hpp"
#include "shards/stream_headers.hpp"
#include "shards/workflow_shard.hpp"
#include "temporal_messages.hpp"
#include "translation/replication_messages.hpp"

namespace s2s::actors::testing {

namespace tt = s2s::translation::testing;
using s2s::translation::replication_codec;

inline constexpr std::string_view namespace_id = "5b1ad0c4-6f3e-4f0e-9c1b-2a7d3e9f8a10";

inline std::shared_ptr<const replication_codec> codec() {
  static auto made =
      std::make_shared<const replication_codec>(*s2s::translation::replication_fields_of(*tt::temporal_schema()));
  return made;
}

// The first workflow id, in a fixed sequence, that Temporal places on `shard` of `count`.
inline std::string workflow_on(std::int32_t shard, std::int32_t count) {
  for (int i = 0;; ++i) {
    auto id = "workflow-" + std::to_string(i);
    if (s2s::shards::workflow_shard(namespace_id, id, count) == shard)
      return id;
  }
}

inline std::string batch(const std::vector<std::pair<std::string, std::int64_t>>& tasks, std::int64_t watermark) {
  auto response = tt::make("temporal.server.api.adminservice.v1.StreamWorkflowReplicationMessagesResponse");
  auto& messages = tt::at(*response, "messages");
  for (const auto& [workflow, id] : tasks) {
    auto& task = tt::add(messages, "replication_tasks");
    tt::set_int(task, "source_task_id", id);
    tt::set(task, "history_task_attributes.namespace_id", namespace_id);
    tt::set(task, "history_task_attributes.workflow_id", workflow);
  }
  tt::set_int(messages, "exclusive_high_watermark", watermark);
  return tt::bytes_of(*response);
}

inline std::string ack(std::int64_t watermark) {
  auto request = tt::make("temporal.server.api.adminservice.v1.StreamWorkflowReplicationMessagesRequest");
  tt::set_int(tt::at(*request, "sync_replication_state"), "inclusive_low_watermark", watermark);
  return tt::bytes_of(*request);
}

inline std::string header(const metadata_list& metadata, std::string_view key) {
  for (const auto& [name, value] : metadata)
    if (name == key)
      return value;
  return "(absent)";
}

// The receiving cluster's end of one target stream.
struct target_stream : downstream_port {
  call_info call;
  std::vector<std::string> writes;
  std::optional<grpc::Status> finished_with;
  int metadata_sent = 0;

  explicit target_stream(std::int32_t shard) {
    call.method = std::string(s2s::shards::replication_stream_method);
    call.metadata = {{"temporal-client-cluster-id", "b"},
                     {std::string(s2s::shards::client_shard_header), std::to_string(shard)},
                     {"temporal-server-cluster-id", "a"},
                     {std::string(s2s::shards::server_shard_header), std::to_string(shard)}};
  }
  const call_info& info() const override { return call; }
  void bind(call_actor) override {}
  void grant_reads(std::size_t) override {}
  void return_grants_to(std::weak_ptr<read_gate>) override {}
  void write(grpc::ByteBuffer message) override { writes.push_back(text(message)); }
  void send_metadata(metadata_list) override { ++metadata_sent; }
  void finish(const grpc::Status& status, const metadata_list&) override {
    if (!finished_with)
      finished_with = status;
  }
};

// The sending cluster's end of one source stream.
struct source_stream : upstream_port {
  call_info call;
  call_actor owner;
  std::vector<std::string> writes;
  int cancels = 0;
  void grant_reads(std::size_t) override {}
  void return_grants_to(std::weak_ptr<read_gate>) override {}
  void write(grpc::ByteBuffer message) override { writes.push_back(text(message)); }
  void writes_done() override {}
  void cancel() override { ++cancels; }
  // As a real upstream half does: the call hears the status once nothing more is asked of it.
  void release() override {
    caf::anon_send(owner, upstream_done{grpc::Status(grpc::StatusCode::CANCELLED, "released"), {}});
  }
};

// The sending cluster: every source stream the hub opens, by its shard, oldest first.
struct sending_cluster : upstream_target {
  std::map<std::int32_t, std::vector<std::shared_ptr<source_stream>>> streams;
  std::shared_ptr<upstream_port> open(const call_info& info, call_actor owner) override {
    auto stream = std::make_shared<source_stream>();
    stream->call = info;
    stream->owner = owner;
    streams[std::stoi(header(info.metadata, s2s::shards::client_shard_header))].push_back(stream);
    return stream;
  }
  source_stream& latest(std::int32_t shard) { return *streams.at(shard).back(); }
};

}  // namespace s2s::actors::testing
