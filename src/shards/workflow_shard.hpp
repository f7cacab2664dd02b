// Temporal's placement of a workflow on a history shard: farm.Fingerprint32 of "namespaceId_workflowId".
#pragma once

#include <cstdint>
#include <string_view>

namespace s2s::shards {

// FarmHash's 32-bit fingerprint (farmhashmk Hash32, as github.com/dgryski/go-farm's Fingerprint32 computes it,
// which is what go.temporal.io/server uses): stable across platforms and releases.
std::uint32_t farm_fingerprint32(std::string_view bytes);

// The shard (1..shard_count) of a cluster with `shard_count` history shards that owns the workflow
// (Temporal's common.WorkflowIDToHistoryShard). `shard_count` is at least 1.
std::int32_t workflow_shard(std::string_view namespace_id, std::string_view workflow_id, std::int32_t shard_count);

}  // namespace s2s::shards
