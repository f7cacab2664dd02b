// The shard ids in a replication stream's request metadata, read and rewritten by an lcm_shard_map.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shards/lcm_shard_map.hpp"

namespace s2s::shards {

// Request metadata as (key, value) pairs, keys in lower case as gRPC carries them.
using header_list = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::string_view client_shard_header = "temporal-client-shard-id";
inline constexpr std::string_view server_shard_header = "temporal-server-shard-id";

// The method whose streams are mapped.
inline constexpr std::string_view replication_stream_method =
    "/temporal.server.api.adminservice.v1.AdminService/StreamWorkflowReplicationMessages";

struct mapped_headers {
  stream_shard_ids named;   // as the stream arrived
  stream_shard_ids mapped;  // as it leaves
  bool changed = false;
  std::string problem;  // non-empty: refuse the stream with it (the headers are then left as they were)
};

// Maps the two shard-id entries of `headers` in place; the cluster ids and every other entry stay.
mapped_headers map_stream_headers(header_list& headers, const lcm_shard_map& shards);

}  // namespace s2s::shards
