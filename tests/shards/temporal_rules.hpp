// Temporal's rule for which replication streams a cluster opens, written from its documented behaviour, for tests.
#pragma once

#include <cstdint>
#include <vector>

#include "shards/lcm_shard_map.hpp"

namespace s2s::shards::testing {

// The server shards a client shard opens streams to when it believes the server has `believed` shards, a
// multiple or a divisor of its own count (Temporal's MapShardID).
inline std::vector<std::int32_t> opened_by(std::int32_t client_shard, std::int32_t client_count,
                                           std::int32_t believed) {
  std::vector<std::int32_t> servers;
  if (client_count <= believed) {
    for (std::int32_t v = client_shard; v <= believed; v += client_count)
      servers.push_back(v);
  } else {
    servers.push_back((client_shard - 1) % believed + 1);
  }
  return servers;
}

// Every stream a client of C shards opens when told the server has LCM(C, S).
inline std::vector<stream_shard_ids> streams_opened(const lcm_shard_map& map) {
  std::vector<stream_shard_ids> streams;
  for (std::int32_t c = 1; c <= map.client_count(); ++c)
    for (std::int32_t v : opened_by(c, map.client_count(), map.presented_count()))
      streams.push_back({c, v});
  return streams;
}

}  // namespace s2s::shards::testing
