// The shard ids in a replication stream's request metadata, read and rewritten by an lcm_shard_map.
#include "shards/stream_headers.hpp"

#include <charconv>
#include <cstdint>

namespace s2s::shards {
namespace {

// The entry's value as a shard id (a decimal of 1..INT32_MAX, as Temporal writes it), or why not.
std::optional<std::int32_t> shard_id_of(std::string_view value) {
  std::int32_t id = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), id);
  if (error != std::errc() || end != value.data() + value.size() || id < 1)
    return std::nullopt;
  return id;
}

}  // namespace

mapped_headers map_stream_headers(header_list& headers, const lcm_shard_map& shards) {
  mapped_headers result;
  std::string* entries[2] = {nullptr, nullptr};  // client, server
  for (auto& [key, value] : headers) {
    if (key == client_shard_header)
      entries[0] = &value;
    if (key == server_shard_header)
      entries[1] = &value;
  }
  std::optional<std::int32_t> ids[2];
  for (int end = 0; end < 2; ++end) {
    auto name = end == 0 ? client_shard_header : server_shard_header;
    if (!entries[end]) {
      result.problem = "replication stream without the " + std::string(name) +
                       " metadata entry; shardCount.mode lcm maps the shard ids Temporal puts there";
      return result;
    }
    ids[end] = shard_id_of(*entries[end]);
    if (!ids[end]) {
      result.problem = "replication stream with " + std::string(name) + " '" + *entries[end] +
                       "', which is not a shard id (a positive decimal number)";
      return result;
    }
  }
  result.named = {*ids[0], *ids[1]};
  auto mapped = shards.map(result.named);
  if (!mapped.problem.empty()) {
    result.problem = std::move(mapped.problem);
    return result;
  }
  result.mapped = mapped.ids;
  result.changed = mapped.changed;
  if (mapped.changed) {
    *entries[0] = std::to_string(mapped.ids.client);
    *entries[1] = std::to_string(mapped.ids.server);
  }
  return result;
}

}  // namespace s2s::shards
