// The routing hub: shardCount.mode routing on one side of a cluster connection. It ends the receiving cluster's
// replication streams (the target streams) itself and opens its own streams to the sending cluster (the source
// streams), one per source shard, and routes every task between them with translation::replication_switch
// (docs/shard-counts.md).
//
// Both kinds of stream are ordinary call actors (call.hpp): a target stream is the call the listener accepted, with
// the hub as its upstream; a source stream is a call whose caller is the hub. So the target streams run the side's
// filters like any call (renaming, UTF-8 repair, ACL), exactly once, and the source streams carry the sender's own
// bytes. Source streams carry routed_stream_header, so a proxy further on passes them through instead of routing
// them again.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/call/call.hpp"
#include "actors/group_link.hpp"
#include "translation/direction.hpp"
#include "translation/replication_messages.hpp"
#include "translation/replication_switch.hpp"

namespace s2s::actors {

// Marks a replication stream opened by a routing proxy: no proxy routes it again.
inline constexpr std::string_view routed_stream_header = "s2s-proxy-routed-stream";

// Told what the hub does (metrics). Shared, so safe from any thread.
class routing_observer {
 public:
  enum class role { target, source };
  virtual ~routing_observer() = default;
  // A stream of `role` for `shard` opened (+1) or ended (-1).
  virtual void stream_changed(const std::string& connection, translation::side side, role kind, std::int32_t shard,
                              int change) = 0;
  virtual void tasks_routed(const std::string& connection, translation::side side, std::int32_t source,
                            std::int32_t target, std::size_t tasks) = 0;
  // A SyncReplicationState sent to a source shard.
  virtual void ack_forwarded(const std::string& connection, translation::side side, std::int32_t source) = 0;
};

struct routing_spec {
  std::string name;        // the listener's, for logs ("a-to-b outbound")
  std::string connection;  // the cluster connection's, for metrics
  translation::side side = translation::side::outbound;
  std::int32_t source_count = 0;  // history shards of the sending cluster
  std::int32_t target_count = 0;  // history shards of the receiving cluster, which opens the target streams
  upstream_actor upstream;        // where the source streams go: toward the sending cluster
  // The codec of the schema the side runs on; null until the schema is loaded.
  std::function<std::shared_ptr<const translation::replication_codec>()> codec;
  std::shared_ptr<call_observer> calls;        // watches the source streams' calls; may be null
  std::shared_ptr<routing_observer> observer;  // may be null
  // How long a source stream that ended waits before it is opened again, the first time; it doubles up to
  // retry_cap while the stream keeps failing before it carries anything.
  std::chrono::milliseconds retry_first{500};
  std::chrono::milliseconds retry_cap{10000};
  // Responses kept for a target shard whose stream is not open; past this the tasks are dropped and their sources
  // re-send them once the target is back.
  std::size_t absent_target_queue = 1024;
  // Several instances per side (memberlist): the link to this instance's group member, through which the hub
  // shares its side's shards with the other instances' hubs. Null: this instance serves every shard.
  std::shared_ptr<group_link> group;
};

// Who serves which shard in a group, as one hub sees it.
struct routing_group_view {
  std::string node_name;                                            // this instance
  std::vector<std::string> members;                                 // the live instances, this one among them
  std::vector<std::pair<std::int32_t, std::string>> source_owners;  // source shard -> the instance that opens it
  std::vector<std::pair<std::int32_t, std::string>> target_owners;  // target shard -> the instance whose stream it
                                                                    // is; absent: nobody holds one
  std::size_t notes_sent = 0;
  std::size_t notes_received = 0;
  std::size_t restarts_asked = 0;  // of other instances' sources
};

// The hub as operators see it (/debug/connections), as of its last change or tick (at most a second old).
struct routing_view {
  std::vector<std::int32_t> targets_open;  // target shards with a stream open now
  std::vector<std::int32_t> sources_open;  // source shards with a stream open now
  std::size_t waiting = 0;                 // responses held for targets whose stream is not open
  std::vector<translation::replication_switch::priority_view> priorities;  // per Temporal task priority seen
  std::optional<routing_group_view> group;                                 // in a group only
};

// What a listener holds to route: the replication streams it should end here, and the upstream they take.
class routing_entrance {
 public:
  virtual ~routing_entrance() = default;
  // Whether the call is a target stream: a replication stream that no proxy has routed yet.
  virtual bool takes(const call_info& info) const = 0;
  // The upstream of target streams: the hub.
  virtual upstream_actor upstream() const = 0;
  // Safe from any thread.
  virtual routing_view view() const = 0;
  // routing_spec.upstream was restarted: the source streams opened from now on go to this one.
  virtual void replace_source_upstream(upstream_actor upstream) = 0;
  // Ends every stream of the hub, and the hub: blocks (off the actor threads) until the source streams' calls have
  // ended, or for `bound` at most.
  virtual void stop(std::chrono::milliseconds bound) = 0;
};

// Spawns the hub. It ends when the entrance is released and its streams are over.
std::shared_ptr<routing_entrance> start_routing(caf::actor_system& system, routing_spec spec);

}  // namespace s2s::actors
