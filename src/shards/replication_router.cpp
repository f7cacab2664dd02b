// The sans-I/O core of shardCount.mode routing: routing table, per-target id sequences, per-source acks.
#include "shards/replication_router.hpp"

#include <utility>

#include "shards/workflow_shard.hpp"

namespace s2s::shards {

routing_table::routing_table(std::int32_t target_count, shard_owner owner)
    : target_count_(target_count), owner_(std::move(owner)) {
  if (!owner_)
    owner_ = [](std::int32_t) { return true; };
}

std::int32_t routing_table::target_of(std::string_view namespace_id, std::string_view workflow_id) const {
  return workflow_shard(namespace_id, workflow_id, target_count_);
}

std::int64_t target_sequence::assign(std::int32_t source, std::uint64_t generation, std::int64_t source_task_id) {
  std::int64_t id = next_id_++;
  unacked_.push_back({id, source, generation, source_task_id});
  return id;
}

std::vector<target_sequence::entry> target_sequence::acknowledge(std::int64_t inclusive_low_watermark) {
  std::vector<entry> done;
  while (!unacked_.empty() && unacked_.front().task_id < inclusive_low_watermark) {
    done.push_back(unacked_.front());
    unacked_.pop_front();
  }
  return done;
}

std::vector<target_sequence::entry> target_sequence::take_all() {
  std::vector<entry> all(unacked_.begin(), unacked_.end());
  unacked_.clear();
  return all;
}

void source_ack_tracker::add(std::int64_t task_id) {
  pending_.insert(task_id);
  last_task_id_ = task_id;
}

void source_ack_tracker::done(std::uint64_t generation, std::int64_t task_id) {
  // An ack for a task of an earlier stream from this source: that stream's tasks were forgotten on restart.
  if (generation == generation_)
    pending_.erase(task_id);
}

std::optional<std::int64_t> source_ack_tracker::take_rising_ack() {
  std::optional<std::int64_t> ack;
  if (!pending_.empty())
    ack = *pending_.begin();
  else
    ack = watermark_;
  if (!ack || (sent_ack_ && *ack <= *sent_ack_))
    return std::nullopt;
  sent_ack_ = ack;
  return ack;
}

void source_ack_tracker::restart() {
  ++generation_;
  pending_.clear();
  last_task_id_.reset();
  watermark_.reset();
  // The source resumes from the ack it stored, the last one sent or an earlier one: the next ack computed is sent
  // even when it repeats that one.
  sent_ack_.reset();
}

replication_router::replication_router(std::int32_t source_count, std::int32_t target_count, shard_owner owner)
    : table_(target_count, std::move(owner)) {
  for (std::int32_t s = 1; s <= source_count; ++s)
    sources_[s];
  for (std::int32_t t = 1; t <= target_count; ++t)
    targets_[t];
}

routed_batch replication_router::route(const source_batch& batch) {
  routed_batch result;
  auto& source = sources_.at(batch.source);
  if (source.watermark() && batch.exclusive_high_watermark <= *source.watermark()) {
    result.stale = true;
    return result;
  }
  std::map<std::int32_t, target_batch> by_target;
  for (std::size_t i = 0; i < batch.tasks.size(); ++i) {
    const auto& task = batch.tasks[i];
    if ((source.last_task_id() && task.task_id <= *source.last_task_id()) ||
        task.task_id >= batch.exclusive_high_watermark) {
      result.skipped.push_back(i);
      continue;
    }
    std::int32_t target = table_.target_of(task.namespace_id, task.workflow_id);
    if (!table_.owns(target)) {
      result.not_owned.push_back(i);
      continue;
    }
    source.add(task.task_id);
    auto& out = by_target[target];
    out.target = target;
    out.tasks.push_back({i, targets_.at(target).assign(batch.source, source.generation(), task.task_id)});
  }
  for (auto& [target, out] : by_target) {
    out.exclusive_high_watermark = targets_.at(target).exclusive_high_watermark();
    result.batches.push_back(std::move(out));
  }
  source.set_watermark(batch.exclusive_high_watermark);
  if (auto ack = source.take_rising_ack())
    result.acks.push_back({batch.source, *ack});
  return result;
}

acked replication_router::target_acked(std::int32_t target, std::int64_t inclusive_low_watermark) {
  acked result;
  auto& sequence = targets_.at(target);
  if (inclusive_low_watermark > sequence.exclusive_high_watermark())
    result.problem = "target shard " + std::to_string(target) + " acknowledged task ids up to " +
                     std::to_string(inclusive_low_watermark) + " but was sent ids below " +
                     std::to_string(sequence.exclusive_high_watermark()) + " only";
  std::set<std::int32_t> touched;
  for (const auto& entry : sequence.acknowledge(inclusive_low_watermark)) {
    sources_.at(entry.source).done(entry.source_generation, entry.source_task_id);
    touched.insert(entry.source);
  }
  for (std::int32_t source : touched)
    if (auto ack = sources_.at(source).take_rising_ack())
      result.acks.push_back({source, *ack});
  return result;
}

std::vector<std::int32_t> replication_router::target_lost(std::int32_t target) {
  std::set<std::int32_t> to_restart;
  for (const auto& entry : targets_.at(target).take_all())
    if (entry.source_generation == sources_.at(entry.source).generation())
      to_restart.insert(entry.source);
  for (std::int32_t source : to_restart)
    sources_.at(source).restart();
  return {to_restart.begin(), to_restart.end()};
}

void replication_router::source_restarted(std::int32_t source) { sources_.at(source).restart(); }

router_view replication_router::view() const {
  router_view view;
  for (const auto& [shard, sequence] : targets_)
    view.targets.push_back({shard, sequence.exclusive_high_watermark(), sequence.pending()});
  for (const auto& [shard, tracker] : sources_)
    view.sources.push_back({shard, tracker.generation(), tracker.watermark(), tracker.pending()});
  return view;
}

}  // namespace s2s::shards
