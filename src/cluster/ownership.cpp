#include "cluster/ownership.hpp"

#include <algorithm>
#include <functional>
#include <utility>

namespace s2s::cluster {

namespace {

// FNV-1a over the bytes, then a splitmix64 finaliser so that names differing in one character spread
// over the whole range. Fixed constants: every instance, on every build, ranks members alike.
std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

std::uint64_t fnv1a(std::uint64_t hash, const unsigned char* bytes, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

}  // namespace

std::uint64_t rendezvous_weight(const std::string& node_name, std::int32_t shard) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  hash = fnv1a(hash, reinterpret_cast<const unsigned char*>(node_name.data()), node_name.size());
  // The shard as four little-endian bytes, after a separator no name ends with.
  const unsigned char separator = 0;
  hash = fnv1a(hash, &separator, 1);
  const auto value = static_cast<std::uint32_t>(shard);
  const unsigned char shard_bytes[4] = {static_cast<unsigned char>(value), static_cast<unsigned char>(value >> 8),
                                        static_cast<unsigned char>(value >> 16),
                                        static_cast<unsigned char>(value >> 24)};
  hash = fnv1a(hash, shard_bytes, sizeof shard_bytes);
  return mix(hash);
}

shard_ownership::shard_ownership(const std::vector<shard_claims>& live, std::int32_t source_shard_count,
                                 std::int32_t target_shard_count)
    : source_owner_(static_cast<std::size_t>(std::max(source_shard_count, 0))),
      target_owner_(static_cast<std::size_t>(std::max(target_shard_count, 0))) {
  for (std::int32_t shard = 1; shard <= source_shard_count; ++shard) {
    const shard_claims* best = nullptr;
    std::uint64_t best_weight = 0;
    for (const auto& member : live) {
      auto weight = rendezvous_weight(member.node_name, shard);
      // Equal weights (practically never) go to the smaller name, so the choice stays total.
      if (!best || weight > best_weight || (weight == best_weight && member.node_name < best->node_name)) {
        best = &member;
        best_weight = weight;
      }
    }
    if (best)
      source_owner_[static_cast<std::size_t>(shard - 1)] = best->node_name;
  }

  // Per target shard, every live claim; the newest stream wins, the larger name on a tie.
  std::map<std::int32_t, std::vector<std::pair<std::int64_t, std::string>>> claims;
  for (const auto& member : live)
    for (const auto& [shard, opened_ms] : member.target_streams_opened_ms)
      if (shard >= 1 && shard <= target_shard_count)
        claims[shard].emplace_back(opened_ms, member.node_name);
  for (auto& [shard, claimants] : claims) {
    std::sort(claimants.begin(), claimants.end(), std::greater<>());
    target_owner_[static_cast<std::size_t>(shard - 1)] = claimants.front().second;
    if (claimants.size() > 1) {
      auto& losers = superseded_[shard];
      for (std::size_t i = 1; i < claimants.size(); ++i)
        losers.push_back(claimants[i].second);
      std::sort(losers.begin(), losers.end());
    }
  }
}

const std::vector<std::optional<std::string>>& shard_ownership::table(shard_role role) const {
  return role == shard_role::source ? source_owner_ : target_owner_;
}

std::optional<std::string> shard_ownership::owner(shard_role role, std::int32_t shard) const {
  const auto& owners = table(role);
  if (shard < 1 || static_cast<std::size_t>(shard) > owners.size())
    return std::nullopt;
  return owners[static_cast<std::size_t>(shard - 1)];
}

std::vector<std::int32_t> shard_ownership::owned_by(const std::string& node_name, shard_role role) const {
  std::vector<std::int32_t> shards;
  const auto& owners = table(role);
  for (std::size_t i = 0; i < owners.size(); ++i)
    if (owners[i] == node_name)
      shards.push_back(static_cast<std::int32_t>(i + 1));
  return shards;
}

std::vector<ownership_move> moves_between(const shard_ownership& before, const shard_ownership& after) {
  std::vector<ownership_move> moves;
  for (auto role : {shard_role::source, shard_role::target}) {
    auto count = role == shard_role::source ? std::max(before.source_shard_count(), after.source_shard_count())
                                            : std::max(before.target_shard_count(), after.target_shard_count());
    for (std::int32_t shard = 1; shard <= count; ++shard) {
      auto from = before.owner(role, shard);
      auto to = after.owner(role, shard);
      if (from != to)
        moves.push_back({role, shard, std::move(from), std::move(to)});
    }
  }
  return moves;
}

}  // namespace s2s::cluster
