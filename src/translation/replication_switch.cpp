#include "translation/replication_switch.hpp"

#include <algorithm>

namespace s2s::translation {

replication_switch::replication_switch(replication_codec codec, std::int32_t source_count, std::int32_t target_count,
                                       shards::shard_owner owner)
    : codec_(std::move(codec)), source_count_(source_count), target_count_(target_count), owner_(std::move(owner)) {}

shards::replication_router& replication_switch::router(std::int32_t priority) {
  auto found = routers_.find(priority);
  if (found == routers_.end())
    found = routers_.emplace(priority, shards::replication_router(source_count_, target_count_, owner_)).first;
  return found->second;
}

result<replication_switch::output> replication_switch::from_source(std::int32_t source, std::string_view message) {
  if (source < 1 || source > source_count_)
    return result<output>::failure("a stream from source shard " + std::to_string(source) + " of " +
                                   std::to_string(source_count_));
  auto read = codec_.read_response(message);
  if (!read)
    return result<output>::failure(read.error());
  output out;
  if (!read->has_value())
    return out;  // nothing routing knows: a sender that sends it expects no answer in kind
  const auto& batch = **read;
  if (batch.priority != task_priority_unspecified)
    tiered_ = true;
  shards::source_batch in;
  in.source = source;
  in.exclusive_high_watermark = batch.exclusive_high_watermark;
  in.tasks.reserve(batch.tasks.size());
  for (const auto& task : batch.tasks)
    in.tasks.push_back({task.namespace_id, task.workflow_id, task.source_task_id});
  auto routed = router(batch.priority).route(in);
  if (routed.stale)
    return out;
  for (const auto& target : routed.batches) {
    std::vector<std::pair<std::size_t, std::int64_t>> picks;
    picks.reserve(target.tasks.size());
    for (const auto& task : target.tasks)
      picks.emplace_back(task.index, task.task_id);
    out.targets.push_back(
        {target.target, codec_.write_response(batch, picks, target.exclusive_high_watermark), picks.size()});
    out.tasks_routed += picks.size();
  }
  out.tasks_left = routed.not_owned.size();
  for (const auto& ack : routed.acks)
    ack_source(ack.source, batch.priority, ack.inclusive_low_watermark, out);
  return out;
}

result<replication_switch::output> replication_switch::from_target(std::int32_t target, std::string_view message) {
  if (target < 1 || target > target_count_)
    return result<output>::failure("a stream of target shard " + std::to_string(target) + " of " +
                                   std::to_string(target_count_));
  auto read = codec_.read_request(message);
  if (!read)
    return result<output>::failure(read.error());
  output out;
  if (!read->has_value())
    return out;
  const auto& state = **read;
  std::vector<std::pair<std::int32_t, std::int64_t>> acks;  // (priority, inclusive low watermark)
  if (state.high_priority || state.low_priority) {
    tiered_ = true;
    if (state.high_priority)
      acks.emplace_back(task_priority_high, state.high_priority->inclusive_low_watermark);
    if (state.low_priority)
      acks.emplace_back(task_priority_low, state.low_priority->inclusive_low_watermark);
  } else {
    acks.emplace_back(task_priority_unspecified, state.overall.inclusive_low_watermark);
  }
  for (auto [priority, watermark] : acks) {
    auto acked = router(priority).target_acked(target, watermark);
    if (!acked.problem.empty() && out.problem.empty())
      out.problem = acked.problem;
    for (const auto& ack : acked.acks)
      ack_source(ack.source, priority, ack.inclusive_low_watermark, out);
  }
  return out;
}

void replication_switch::ack_source(std::int32_t source, std::int32_t priority, std::int64_t ack, output& out) {
  out.levels.push_back({source, priority, ack});
  auto made = acknowledge(source, priority, ack);
  if (!made)
    return;
  // One request per source per call: a later ack of the same source replaces an earlier one.
  for (auto& pending : out.sources) {
    if (pending.source == source) {
      pending.message = std::move(made->message);
      return;
    }
  }
  out.sources.push_back(std::move(*made));
}

std::optional<replication_switch::to_source> replication_switch::acknowledge(std::int32_t source, std::int32_t priority,
                                                                             std::int64_t ack) {
  replication_state state;
  if (!tiered_ || priority == task_priority_unspecified) {
    state.overall.inclusive_low_watermark = ack;
  } else {
    // A tiered sender refuses a state without both priorities, so the first one waits for the other.
    auto& known = tiered_acks_[source];
    known[priority] = ack;
    auto high = known.find(task_priority_high);
    auto low = known.find(task_priority_low);
    if (high == known.end() || low == known.end())
      return std::nullopt;
    state.high_priority = replication_ack{high->second, {}};
    state.low_priority = replication_ack{low->second, {}};
    state.overall.inclusive_low_watermark = std::min(high->second, low->second);
  }
  return to_source{source, codec_.write_request(state)};
}

std::vector<std::int32_t> replication_switch::target_lost(std::int32_t target) {
  std::vector<std::int32_t> sources;
  for (auto& [priority, routing] : routers_) {
    for (auto source : routing.target_lost(target))
      sources.push_back(source);
  }
  std::sort(sources.begin(), sources.end());
  sources.erase(std::unique(sources.begin(), sources.end()), sources.end());
  // A source reopened re-sends every priority from its stored acks: each router forgets what it had from it.
  for (auto& [priority, routing] : routers_) {
    for (auto source : sources)
      routing.source_restarted(source);
  }
  for (auto source : sources)
    tiered_acks_.erase(source);
  return sources;
}

void replication_switch::source_restarted(std::int32_t source) {
  for (auto& [priority, routing] : routers_)
    routing.source_restarted(source);
  tiered_acks_.erase(source);
}

std::vector<replication_switch::to_target> replication_switch::keepalive() const {
  std::vector<to_target> out;
  for (const auto& [priority, routing] : routers_) {
    replication_batch_view empty;
    empty.priority = priority;
    for (const auto& target : routing.view().targets)
      out.push_back({target.shard, codec_.write_response(empty, {}, target.next_task_id), 0});
  }
  return out;
}

std::vector<replication_switch::priority_view> replication_switch::view() const {
  std::vector<priority_view> out;
  for (const auto& [priority, routing] : routers_)
    out.push_back({priority, routing.view()});
  return out;
}

}  // namespace s2s::translation
