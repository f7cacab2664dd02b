// What the routing hubs of one side's instances say to each other, and the link between an instance's hubs and its
// group member (membership.hpp), which carries their notes to the peers over CAF's middleman. See
// docs/several-instances.md, "Routing with several instances".
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

namespace s2s::actors {

// One note between the hubs of a side. The member that receives it sets from and incarnation from the connection
// it came on; a hub sets neither.
struct hub_note {
  enum kind : std::int32_t {
    // The owner of source shard `shard` opened its stream again, as incarnation `generation`: the receivers forget
    // what that source had sent and take its batches of this incarnation from now on.
    source_opened = 1,
    // A batch (a StreamWorkflowReplicationMessagesResponse, in `bytes`) of source `shard`, incarnation `generation`.
    source_batch = 2,
    // To the owner of source `shard`: every task of its incarnation `generation` and `priority` below `value` that
    // goes to a target this instance serves is applied there.
    source_level = 3,
    // To the owner of source `shard`: open incarnation `generation` again (this instance lost tasks of it, or could
    // not take it whole).
    source_restart = 4,
    // This instance serves target shard `shard`; its stream opened at `value` (ms since the epoch); `bytes` holds the
    // stream's metadata (the model of the source streams' metadata).
    target_claimed = 5,
    // This instance serves target shard `shard` no more.
    target_released = 6,
    // Forget every target shard this instance claimed: the claims that follow are all it holds.
    targets_reset = 7,
  };
  std::string from;
  std::uint64_t incarnation = 0;
  std::string to;         // a node name; empty: every peer
  std::int32_t side = 0;  // which hub of the instance: 0 outbound, 1 inbound
  std::int32_t what = 0;  // a kind
  std::int32_t shard = 0;
  std::uint64_t generation = 0;
  std::int32_t priority = 0;
  std::int64_t value = 0;
  std::string bytes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hub_note& x) {
  return f(caf::meta::type_name("s2s.hub_note"), x.from, x.incarnation, x.to, x.side, x.what, x.shard, x.generation,
           x.priority, x.value, x.bytes);
}

// The live members of the group as an instance's member sees them, this instance among them: (node name,
// incarnation), by name.
struct group_members {
  std::vector<std::pair<std::string, std::uint64_t>> alive;
  bool operator==(const group_members&) const = default;
};

// A hub sends its notes to the member as (relay_atom, hub_note).
using relay_atom = caf::atom_constant<caf::atom("relay")>;

// Shared by an instance's member and hubs, which start and restart apart: each finds the other's current actor
// here. Safe from any thread.
class group_link {
 public:
  explicit group_link(std::string node_name) : node_name_(std::move(node_name)) {}
  const std::string& node_name() const { return node_name_; }

  void attach_member(caf::actor member) {
    std::lock_guard guard(mutex_);
    member_ = std::move(member);
  }
  caf::actor member() const {
    std::lock_guard guard(mutex_);
    return member_;
  }
  // Each attach counts, so that the member tells a new hub the members it knows.
  void attach_hub(std::int32_t side, caf::actor hub) {
    std::lock_guard guard(mutex_);
    hubs_.at(static_cast<std::size_t>(side)) = std::move(hub);
    ++hub_attachments_;
  }
  caf::actor hub(std::int32_t side) const {
    std::lock_guard guard(mutex_);
    return side == 0 || side == 1 ? hubs_[static_cast<std::size_t>(side)] : caf::actor();
  }
  std::uint64_t hub_attachments() const {
    std::lock_guard guard(mutex_);
    return hub_attachments_;
  }

 private:
  std::string node_name_;
  mutable std::mutex mutex_;
  caf::actor member_;
  std::array<caf::actor, 2> hubs_;
  std::uint64_t hub_attachments_ = 0;
};

}  // namespace s2s::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::group_members)
