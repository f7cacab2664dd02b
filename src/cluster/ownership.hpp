// Who in a side's group serves which shard in shardCount routing mode. Plain C++: a pure function of
// the live members and what each of them claims.
//
// Two kinds of ownership, because routing mode has two kinds of replication streams:
//   - A *target* shard is owned by the instance that holds the stream its local history shard opened
//     (Temporal's streams arrive through the side's balancer wherever it sends them, so ownership
//     follows them and is announced, not chosen). Routed tasks for that shard, and the target's acks,
//     are the owner's to carry. Two live instances may claim one shard for a moment while Temporal
//     replaces a stream it gave up on; the claim whose stream opened last wins (Temporal's receiver
//     keeps its newest stream), the larger node name on a tie.
//   - A *source* shard is the remote side's shard whose stream this side opens; exactly one live
//     instance opens it. It is chosen by rendezvous hashing of (node name, shard) over the live
//     members: every instance computes the same owner from the same membership, a member that leaves
//     moves only its own source shards, and one that joins takes about 1/n of them.
//
// A shard whose owner leaves is handed to the next owner, which opens its source stream from the last
// watermark the targets acknowledged: tasks after that watermark may arrive twice, which Temporal
// tolerates (its replicators answer ErrDuplicate for events the history already holds, and its task
// executor counts that as done).
// Nothing is lost, because a source ack is only forwarded once every target acknowledged it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace s2s::cluster {

// What one live member of the group says it serves: the target shards whose streams it holds, each
// with when (milliseconds since the epoch, by the claimer's clock) that stream was opened.
struct shard_claims {
  std::string node_name;
  std::map<std::int32_t, std::int64_t> target_streams_opened_ms;
};

enum class shard_role { source, target };

// A shard that changes hands between two views. from or to is empty when nobody owned it.
struct ownership_move {
  shard_role role;
  std::int32_t shard;
  std::optional<std::string> from;
  std::optional<std::string> to;

  bool operator==(const ownership_move&) const = default;
};

class shard_ownership {
 public:
  // live: the members alive now, this instance among them; shards are Temporal's, 1 to the count.
  shard_ownership(const std::vector<shard_claims>& live, std::int32_t source_shard_count,
                  std::int32_t target_shard_count);

  // The owner of a shard; empty for a target shard nobody holds a stream for, or without live members.
  std::optional<std::string> owner(shard_role role, std::int32_t shard) const;
  // The shards a member owns, ascending.
  std::vector<std::int32_t> owned_by(const std::string& node_name, shard_role role) const;
  // Target shards claimed by more than one live member, with the losers: claims to let go of.
  const std::map<std::int32_t, std::vector<std::string>>& superseded_claims() const { return superseded_; }

  std::int32_t source_shard_count() const { return static_cast<std::int32_t>(source_owner_.size()); }
  std::int32_t target_shard_count() const { return static_cast<std::int32_t>(target_owner_.size()); }

  bool operator==(const shard_ownership&) const = default;

 private:
  const std::vector<std::optional<std::string>>& table(shard_role role) const;

  std::vector<std::optional<std::string>> source_owner_;  // index shard - 1
  std::vector<std::optional<std::string>> target_owner_;
  std::map<std::int32_t, std::vector<std::string>> superseded_;
};

// The weight of (member, shard) in the rendezvous ranking: the same on every instance and build.
std::uint64_t rendezvous_weight(const std::string& node_name, std::int32_t shard);

// What moves from one view to the next, sources before targets, each by ascending shard. Views of
// different shard counts compare over the larger count; a shard beyond one view's count has no owner
// there.
std::vector<ownership_move> moves_between(const shard_ownership& before, const shard_ownership& after);

}  // namespace s2s::cluster
