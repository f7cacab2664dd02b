// The shard ids of replication streams under shardCount.mode lcm: pure arithmetic on two real shard counts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace s2s::shards {

// The shards a replication stream (AdminService/StreamWorkflowReplicationMessages) names as its ends.
struct stream_shard_ids {
  std::int32_t client = 0;  // temporal-client-shard-id: the receiving cluster's shard, which opened the stream
  std::int32_t server = 0;  // temporal-server-shard-id: the sending cluster's shard
  bool operator==(const stream_shard_ids&) const = default;
};

// One stream of an lcm shard map: the ids its client opens it with, and those its server sees.
struct lcm_stream {
  stream_shard_ids opened;
  stream_shard_ids mapped;
};

// What the server of a stream is to see, or why the stream cannot be mapped.
struct mapped_stream {
  stream_shard_ids ids;
  bool changed = false;
  std::string problem;  // non-empty: refuse the stream with it
};

// The least common multiple of two shard counts, or nullopt when a count is below 1 or the result exceeds
// int32 (history_shard_count is an int32).
std::optional<std::int32_t> shard_count_lcm(std::int64_t first, std::int64_t second);

// Both clusters are told the other has L = LCM(C, S) shards. The client (C real shards) then opens, from its
// shard c, a stream to each virtual shard v of 1..L with v ≡ c (mod C). Each v is one pair of real shards
// (c, (v-1) % S + 1), so the server is to see the stream as (client v, server (v-1) % S + 1): it believes the
// client has L shards and sends on it the tasks of the workflows whose hash is v - 1 modulo L (docs/shard-counts.md).
class lcm_shard_map {
 public:
  // `client_count`, `server_count`: the real shard counts of the stream's client and server clusters; both at
  // least 1 with an LCM within int32 (shard_count_lcm), as validated config guarantees.
  lcm_shard_map(std::int32_t client_count, std::int32_t server_count);

  std::int32_t client_count() const { return client_count_; }
  std::int32_t server_count() const { return server_count_; }
  std::int32_t presented_count() const { return lcm_; }  // what DescribeCluster reports for either cluster

  // The real server shard that virtual shard `virtual_shard` (1..L) stands for.
  std::int32_t server_shard_of(std::int32_t virtual_shard) const;

  // The ids the server is to see for a stream that names `named`. Ids that already read as mapped pass
  // unchanged (a proxy further along the way, or this one, mapped them), so mapping twice is mapping once;
  // ids that fit neither form are a problem naming them and the counts.
  mapped_stream map(stream_shard_ids named) const;

  // Every stream the client cluster opens, one per virtual shard 1..L, in that order (for operators).
  std::vector<lcm_stream> streams() const;

 private:
  bool is_as_opened(stream_shard_ids ids) const;
  bool is_as_mapped(stream_shard_ids ids) const;

  std::int32_t client_count_;
  std::int32_t server_count_;
  std::int32_t lcm_;
};

}  // namespace s2s::shards
