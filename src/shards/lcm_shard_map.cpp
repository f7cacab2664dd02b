// The shard ids of replication streams under shardCount.mode lcm: pure arithmetic on two real shard counts.
#include "shards/lcm_shard_map.hpp"

#include <cstdint>
#include <numeric>

namespace s2s::shards {

std::optional<std::int32_t> shard_count_lcm(std::int64_t first, std::int64_t second) {
  if (first < 1 || second < 1 || first > INT32_MAX || second > INT32_MAX)
    return std::nullopt;
  std::int64_t lcm = std::lcm(first, second);
  if (lcm > INT32_MAX)
    return std::nullopt;
  return static_cast<std::int32_t>(lcm);
}

lcm_shard_map::lcm_shard_map(std::int32_t client_count, std::int32_t server_count)
    : client_count_(client_count),
      server_count_(server_count),
      lcm_(shard_count_lcm(client_count, server_count).value_or(0)) {}

std::int32_t lcm_shard_map::server_shard_of(std::int32_t virtual_shard) const {
  return (virtual_shard - 1) % server_count_ + 1;
}

// As the client opened it: its own real shard, and a virtual shard of the server that it maps to.
bool lcm_shard_map::is_as_opened(stream_shard_ids ids) const {
  return ids.client >= 1 && ids.client <= client_count_ && ids.server >= 1 && ids.server <= lcm_ &&
         (ids.server - 1) % client_count_ == ids.client - 1;
}

// As the server is to see it: a virtual client shard, and the real server shard it maps to.
bool lcm_shard_map::is_as_mapped(stream_shard_ids ids) const {
  return ids.client >= 1 && ids.client <= lcm_ && ids.server >= 1 && ids.server <= server_count_ &&
         (ids.client - 1) % server_count_ == ids.server - 1;
}

mapped_stream lcm_shard_map::map(stream_shard_ids named) const {
  mapped_stream result;
  result.ids = named;
  // The forms overlap only where client == server <= min(C, S), and there mapping changes nothing.
  if (is_as_mapped(named))
    return result;
  if (!is_as_opened(named)) {
    result.problem = "replication stream names client shard " + std::to_string(named.client) + " and server shard " +
                     std::to_string(named.server) + ", which fit neither " + std::to_string(client_count_) +
                     " client shards streaming to " + std::to_string(lcm_) + " (the least common multiple) nor " +
                     std::to_string(lcm_) + " streaming to " + std::to_string(server_count_) +
                     " server shards: check shardCount.localShardCount and remoteShardCount against the clusters' "
                     "real shard counts, then run `temporal operator cluster upsert` on both clusters so that each "
                     "reads the shard count the proxy reports";
    return result;
  }
  result.ids = {named.server, server_shard_of(named.server)};
  result.changed = !(result.ids == named);
  return result;
}

std::vector<lcm_stream> lcm_shard_map::streams() const {
  std::vector<lcm_stream> all;
  for (std::int32_t v = 1; v <= lcm_; ++v) {
    stream_shard_ids opened{(v - 1) % client_count_ + 1, v};
    all.push_back({opened, map(opened).ids});
  }
  return all;
}

}  // namespace s2s::shards
