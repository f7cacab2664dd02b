// The routing hub: ends the target streams, opens the source streams and routes tasks between them.
#include "actors/routing_hub.hpp"
#include "actors/runtime/census.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/upstream.hpp"
#include "cluster/ownership.hpp"
#include "log/log.hpp"
#include "rpc/byte_buffers.hpp"
#include "shards/stream_headers.hpp"

namespace s2s::actors::routing {

// A target stream's call reached the hub (its upstream).
struct target_opened {
  std::uint64_t stream = 0;
  call_actor call;
  call_info info;
};
// A SyncReplicationState (or anything else) the receiving cluster sent on a target stream.
struct target_request {
  std::uint64_t stream = 0;
  grpc::ByteBuffer message;
};
// The target stream's call is over on its caller's side (cancelled, gone, or it half-closed).
struct target_closed {
  std::uint64_t stream = 0;
};
// A batch the sending cluster sent on the source stream of `shard`, incarnation `generation`.
struct source_response {
  std::int32_t shard = 0;
  std::uint64_t generation = 0;
  grpc::ByteBuffer message;
};
struct source_ended {
  std::int32_t shard = 0;
  std::uint64_t generation = 0;
  grpc::Status status;
};

}  // namespace s2s::actors::routing

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::routing::target_opened)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::routing::target_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::routing::target_closed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::routing::source_response)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::routing::source_ended)

namespace s2s::actors {
namespace {

using namespace routing;
using translation::replication_switch;
using role = routing_observer::role;

// Sent by the hub to itself: open the source stream of a shard again, unless it was reopened meanwhile.
using reopen_atom = caf::atom_constant<caf::atom("reopen")>;
// Sent by the hub to itself every tick_interval: the liveness messages both ends of a stream expect.
using tick_atom = caf::atom_constant<caf::atom("tick")>;

// Temporal's receivers send their state every second (history.ReplicationStreamSyncStatusDuration) and a sender ends
// a stream that has not heard from its receiver for ten of those; a receiver ends one that carried nothing for three
// of the sender's idle intervals (history.ReplicationStreamSendEmptyTaskDuration, a minute). The hub does as a
// receiver does toward its sources and sends its targets an empty batch well within the receivers' patience.
constexpr auto tick_interval = std::chrono::seconds(1);
constexpr int ticks_per_keepalive = 30;

using hub_actor =
    caf::typed_actor<caf::reacts_to<target_opened>, caf::reacts_to<target_request>, caf::reacts_to<target_closed>,
                     caf::reacts_to<source_response>, caf::reacts_to<source_ended>,
                     caf::reacts_to<reopen_atom, std::int32_t, std::uint64_t>, caf::reacts_to<tick_atom>,
                     caf::reacts_to<upstream_atom, upstream_actor>, caf::reacts_to<hub_note>,
                     caf::reacts_to<group_members>, caf::replies_to<stop_atom>::with<bool>>;

// Runs `use` on the message's bytes: in place when they are one slice (as a whole HTTP/2 message usually is), else
// on a flat copy.
template <class Use>
auto with_bytes(const grpc::ByteBuffer& message, Use use) {
  grpc::Slice single;
  if (message.TrySingleSlice(&single).ok())
    return use(std::string_view(reinterpret_cast<const char*>(single.begin()), single.size()));
  return use(std::string_view(rpc::flatten(message)));
}

grpc::ByteBuffer buffer_of(std::string bytes) { return rpc::owning_buffer(std::move(bytes)); }

std::optional<std::int32_t> shard_of(const metadata_list& metadata, std::string_view key) {
  for (const auto& [name, value] : metadata) {
    if (name != key)
      continue;
    std::int32_t shard = 0;
    for (char c : value) {
      if (c < '0' || c > '9' || shard > 100'000'000)
        return std::nullopt;
      shard = shard * 10 + (c - '0');
    }
    return value.empty() ? std::nullopt : std::optional<std::int32_t>(shard);
  }
  return std::nullopt;
}

// The upstream half of a target stream's call: what the call writes goes to the hub; what the hub routes to the
// target comes to the call as upstream_read.
class target_port final : public upstream_port {
 public:
  target_port(hub_actor hub, std::uint64_t stream, call_actor owner)
      : hub_(std::move(hub)), stream_(stream), owner_(std::move(owner)) {}

  void grant_reads(std::size_t) override {}  // the hub sends as the sources do; the caller's half queues
  void return_grants_to(std::weak_ptr<read_gate> peer) override { peer_ = std::move(peer); }
  void write(grpc::ByteBuffer message) override {
    caf::anon_send(hub_, target_request{stream_, std::move(message)});
    // The hub takes every message at once: the caller may read the next.
    if (auto peer = peer_.lock())
      peer->grant_reads(1);
  }
  void writes_done() override { close(); }
  void cancel() override { close(); }
  void release() override {
    close();
    // Nothing answers for the hub's side but this: the call ends once it has its status.
    if (!released_.exchange(true))
      caf::anon_send(owner_, upstream_done{grpc::Status(grpc::StatusCode::CANCELLED, "s2s-proxy: stream ended"), {}});
  }

 private:
  void close() {
    if (!closed_.exchange(true))
      caf::anon_send(hub_, target_closed{stream_});
  }

  hub_actor hub_;
  std::uint64_t stream_;
  call_actor owner_;
  std::weak_ptr<read_gate> peer_;
  std::atomic<bool> closed_ = false;
  std::atomic<bool> released_ = false;
};

// What the target streams' calls lease: opening a call registers it with the hub.
class hub_target final : public upstream_target {
 public:
  explicit hub_target(hub_actor hub) : hub_(std::move(hub)) {}
  std::shared_ptr<upstream_port> open(const call_info& info, call_actor owner) override {
    auto stream = ++streams_;
    caf::anon_send(hub_, target_opened{stream, owner, info});
    return std::make_shared<target_port>(hub_, stream, std::move(owner));
  }

 private:
  hub_actor hub_;
  std::atomic<std::uint64_t> streams_ = 0;
};

// The caller's half of a source stream's call: the hub is the caller. Responses go to the hub; the hub's acks come
// to the call as downstream_read.
class source_port final : public downstream_port {
 public:
  source_port(hub_actor hub, std::int32_t shard, std::uint64_t generation, call_info info)
      : hub_(std::move(hub)), shard_(shard), generation_(generation), info_(std::move(info)) {}

  const call_info& info() const override { return info_; }
  void bind(call_actor) override {}
  void grant_reads(std::size_t) override {}  // the hub's acks are few; each is sent as it is due
  void return_grants_to(std::weak_ptr<read_gate> peer) override { peer_ = std::move(peer); }
  void write(grpc::ByteBuffer message) override {
    caf::anon_send(hub_, source_response{shard_, generation_, std::move(message)});
    if (auto peer = peer_.lock())
      peer->grant_reads(1);
  }
  void send_metadata(metadata_list) override {}
  void finish(const grpc::Status& status, const metadata_list&) override {
    if (!finished_.exchange(true))
      caf::anon_send(hub_, source_ended{shard_, generation_, status});
  }

 private:
  hub_actor hub_;
  std::int32_t shard_;
  std::uint64_t generation_;
  call_info info_;
  std::weak_ptr<read_gate> peer_;
  std::atomic<bool> finished_ = false;
};

struct target_entry {
  std::uint64_t stream = 0;  // 0: no stream open
  call_actor call;
  std::int64_t opened_ms = 0;       // when the stream opened, by this instance's clock (the group's claims)
  std::deque<std::string> waiting;  // responses routed while no stream was open
  bool overflowed = false;          // some were dropped: the sources re-send them when the target is back
};

struct source_entry {
  std::uint64_t generation = 0;
  call_actor call;  // null while waiting to be opened again
  std::chrono::milliseconds retry{0};
  bool carried = false;      // the current incarnation delivered a message
  bool backing_off = false;  // ended by the sender: opened again after `retry`, not before
  std::string last_ack;      // the last SyncReplicationState the current incarnation was sent; empty: none yet
};

// The incarnation of a source a hub takes batches of: whose stream it is, and which opening of it.
struct taken_source {
  std::string from;
  std::uint64_t incarnation = 0;
  std::uint64_t generation = 0;
};

// A hub in a group (spec.group): what it knows of the other instances' hubs.
struct group_part {
  std::shared_ptr<group_link> link;
  std::int32_t side = 0;
  std::string self;
  group_members members;  // the live instances, this one among them
  // The target streams the other instances hold: node -> (its incarnation, shard -> when the stream opened).
  std::map<std::string, std::pair<std::uint64_t, std::map<std::int32_t, std::int64_t>>> claims;
  std::optional<cluster::shard_ownership> ownership;
  std::map<std::int32_t, taken_source> taken;  // per source shard
  // Per source this instance opens: each member's level per priority for the current incarnation, and the acks sent.
  std::map<std::int32_t, std::map<std::string, std::map<std::int32_t, std::int64_t>>> levels;
  std::map<std::int32_t, std::map<std::int32_t, std::int64_t>> forwarded;
  // Sources whose owner's batches were refused since the last tick, with the incarnation: asked again then.
  std::map<std::int32_t, std::pair<std::string, std::uint64_t>> refused;
  std::size_t sent = 0;
  std::size_t received = 0;
  std::size_t restarts_asked = 0;
};

// The hub's view, published for readers on other threads.
struct published_view {
  mutable std::mutex mutex;
  routing_view view;
};

struct hub_state {
  static inline const char* name = "routing-hub";
  census::mark counted{census::kind::routing_hub};
  routing_spec spec;
  std::shared_ptr<published_view> published;
  std::optional<replication_switch> routes;  // made when the schema is there and the first stream needs it
  std::map<std::int32_t, target_entry> targets;
  std::map<std::uint64_t, std::int32_t> streams;  // open target stream -> its shard
  std::map<std::int32_t, source_entry> sources;
  std::optional<call_info> source_template;  // the first target stream's, for the source streams' metadata
  std::optional<group_part> group;
  std::uint64_t generations = 0;
  bool ticking = false;
  int ticks = 0;
  // Stopping (the listener drained): the source calls still ending, and the answer once they have.
  bool stopping = false;
  std::set<caf::actor_addr> ending;
  std::optional<caf::typed_response_promise<bool>> stopped;

  void observe_stream(role kind, std::int32_t shard, int change) {
    if (spec.observer)
      spec.observer->stream_changed(spec.connection, spec.side, kind, shard, change);
  }

  ~hub_state() {
    for (auto& [shard, target] : targets)
      if (target.call)
        caf::anon_send(target.call, upstream_done{grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                                               "s2s-proxy: replication routing stopped; call again"),
                                                  {}});
    for (auto& [shard, source] : sources)
      if (source.call)
        caf::anon_send(source.call, downstream_cancelled{});
  }
};

using hub_pointer = hub_actor::stateful_pointer<hub_state>;

// -- Who serves what -------------------------------------------------------------------------------------------------

// Whether this instance delivers and counts the tasks for target shard `shard`: alone, always; in a group, when its
// stream is here, or nobody's (then every instance keeps them, until one holds the stream).
bool serves_target(const hub_state& st, std::int32_t shard) {
  if (!st.group || !st.group->ownership)
    return true;
  auto owner = st.group->ownership->owner(cluster::shard_role::target, shard);
  return !owner || *owner == st.group->self;
}

std::optional<std::string> source_owner(const hub_state& st, std::int32_t shard) {
  if (!st.group || !st.group->ownership)
    return std::nullopt;
  return st.group->ownership->owner(cluster::shard_role::source, shard);
}

bool opens_source(const hub_state& st, std::int32_t shard) {
  return !st.group || source_owner(st, shard) == st.group->self;
}

// Whether anyone receives: a target stream here, or one another live instance holds.
bool receivers(const hub_state& st) {
  if (!st.streams.empty())
    return true;
  if (!st.group)
    return false;
  for (const auto& [name, incarnation] : st.group->members.alive) {
    auto found = st.group->claims.find(name);
    if (found != st.group->claims.end() && found->second.first == incarnation && !found->second.second.empty())
      return true;
  }
  return false;
}

cluster::shard_ownership ownership_of(const hub_state& st) {
  std::vector<cluster::shard_claims> live;
  for (const auto& [name, incarnation] : st.group->members.alive) {
    cluster::shard_claims claims{name, {}};
    if (name == st.group->self) {
      for (const auto& [shard, target] : st.targets)
        if (target.call)
          claims.target_streams_opened_ms[shard] = target.opened_ms;
    } else if (auto found = st.group->claims.find(name);
               found != st.group->claims.end() && found->second.first == incarnation) {
      claims.target_streams_opened_ms = found->second.second;
    }
    live.push_back(std::move(claims));
  }
  return cluster::shard_ownership(live, st.spec.source_count, st.spec.target_count);
}

bool ensure_routes(hub_state& st) {
  if (st.routes)
    return true;
  auto codec = st.spec.codec ? st.spec.codec() : nullptr;
  if (!codec)
    return false;
  const hub_state* state = &st;  // the actor's state outlives its switch
  st.routes.emplace(*codec, st.spec.source_count, st.spec.target_count,
                    [state](std::int32_t shard) { return serves_target(*state, shard); });
  return true;
}

// -- Notes to the other hubs of the group ----------------------------------------------------------------------------

void send_note(hub_state& st, std::int32_t what, std::int32_t shard, std::string to = {}, std::uint64_t generation = 0,
               std::int32_t priority = 0, std::int64_t value = 0, std::string bytes = {}) {
  auto& group = *st.group;
  auto member = group.link->member();
  if (!member)
    return;  // no member yet: when it comes, it tells the members, and everything is said again
  hub_note note;
  note.to = std::move(to);
  note.side = group.side;
  note.what = what;
  note.shard = shard;
  note.generation = generation;
  note.priority = priority;
  note.value = value;
  note.bytes = std::move(bytes);
  ++group.sent;
  caf::anon_send(member, relay_atom::value, std::move(note));
}

// A stream's metadata as a claim carries it: for each entry, "<key length> <value length>\n" then key and value.
std::string encode_metadata(const metadata_list& metadata) {
  std::string out;
  for (const auto& [key, value] : metadata)
    out += std::to_string(key.size()) + " " + std::to_string(value.size()) + "\n" + key + value;
  return out;
}

std::optional<metadata_list> decode_metadata(std::string_view bytes) {
  metadata_list out;
  while (!bytes.empty()) {
    std::size_t key_size = 0;
    std::size_t value_size = 0;
    auto* end = bytes.data() + bytes.size();
    auto first = std::from_chars(bytes.data(), end, key_size);
    if (first.ec != std::errc() || first.ptr == end || *first.ptr != ' ')
      return std::nullopt;
    auto second = std::from_chars(first.ptr + 1, end, value_size);
    if (second.ec != std::errc() || second.ptr == end || *second.ptr != '\n')
      return std::nullopt;
    bytes.remove_prefix(static_cast<std::size_t>(second.ptr + 1 - bytes.data()));
    if (key_size > bytes.size() || value_size > bytes.size() - key_size)
      return std::nullopt;
    out.emplace_back(std::string(bytes.substr(0, key_size)), std::string(bytes.substr(key_size, value_size)));
    bytes.remove_prefix(key_size + value_size);
  }
  return out;
}

void claim_target(hub_state& st, std::int32_t shard) {
  const auto& target = st.targets[shard];
  send_note(st, hub_note::target_claimed, shard, {}, 0, 0, target.opened_ms,
            st.source_template ? encode_metadata(st.source_template->metadata) : std::string());
}

// -- The view --------------------------------------------------------------------------------------------------------

std::vector<std::pair<std::int32_t, std::string>> owners_of(const cluster::shard_ownership& ownership,
                                                            cluster::shard_role role, std::int32_t count) {
  std::vector<std::pair<std::int32_t, std::string>> out;
  for (std::int32_t shard = 1; shard <= count; ++shard)
    if (auto owner = ownership.owner(role, shard))
      out.emplace_back(shard, *owner);
  return out;
}

void publish(hub_state& st) {
  routing_view view;
  for (const auto& [shard, target] : st.targets) {
    if (target.call)
      view.targets_open.push_back(shard);
    view.waiting += target.waiting.size();
  }
  for (const auto& [shard, source] : st.sources)
    if (source.call)
      view.sources_open.push_back(shard);
  if (st.routes)
    view.priorities = st.routes->view();
  if (st.group) {
    routing_group_view group;
    group.node_name = st.group->self;
    for (const auto& [name, incarnation] : st.group->members.alive)
      group.members.push_back(name);
    if (st.group->ownership) {
      group.source_owners = owners_of(*st.group->ownership, cluster::shard_role::source, st.spec.source_count);
      group.target_owners = owners_of(*st.group->ownership, cluster::shard_role::target, st.spec.target_count);
    }
    group.notes_sent = st.group->sent;
    group.notes_received = st.group->received;
    group.restarts_asked = st.group->restarts_asked;
    view.group = std::move(group);
  }
  std::lock_guard guard(st.published->mutex);
  st.published->view = std::move(view);
}

// -- Streams ---------------------------------------------------------------------------------------------------------

std::string header_value(std::int32_t shard) { return std::to_string(shard); }

call_info source_info(const call_info& model, std::int32_t shard) {
  call_info info;
  info.method = model.method;
  info.peer = "routing";
  for (const auto& [key, value] : model.metadata) {
    if (key == shards::client_shard_header || key == shards::server_shard_header || key == routed_stream_header)
      continue;
    info.metadata.emplace_back(key, value);
  }
  info.metadata.emplace_back(std::string(shards::client_shard_header), header_value(shard));
  info.metadata.emplace_back(std::string(shards::server_shard_header), header_value(shard));
  info.metadata.emplace_back(std::string(routed_stream_header), "1");
  return info;
}

void start_ticking(hub_pointer self) {
  if (self->state.ticking)
    return;
  self->state.ticking = true;
  self->delayed_send(self, tick_interval, tick_atom::value);
}

void open_source(hub_pointer self, std::int32_t shard) {
  auto& st = self->state;
  if (st.stopping)
    return;
  auto& source = st.sources[shard];
  source.generation = ++st.generations;
  source.carried = false;
  source.backing_off = false;
  source.last_ack.clear();
  auto port = std::make_shared<source_port>(self, shard, source.generation, source_info(*st.source_template, shard));
  source.call = spawn_call(self->system(), {port, st.spec.upstream, nullptr, st.spec.calls});
  st.observe_stream(role::source, shard, +1);
  if (st.group) {
    // Every hub of the group starts this incarnation from its first batch: what the old one sent is forgotten.
    auto& group = *st.group;
    group.taken[shard] = {group.self, 0, source.generation};
    group.levels[shard].clear();
    group.forwarded[shard].clear();
    group.refused.erase(shard);
    if (st.routes)
      st.routes->source_restarted(shard);
    send_note(st, hub_note::source_opened, shard, {}, source.generation);
  }
  start_ticking(self);
}

// Ends the current incarnation of a source stream; its pending tasks were forgotten by the switch.
void end_source(hub_pointer self, std::int32_t shard) {
  auto& source = self->state.sources[shard];
  if (!source.call)
    return;
  caf::anon_send(source.call, downstream_cancelled{});
  source.call = nullptr;
  ++source.generation;  // what the old incarnation still sends is dropped
  self->state.observe_stream(role::source, shard, -1);
}

// Asks the instance whose incarnation of `shard` this hub takes to open it again, and takes none of it until then.
void ask_restart(hub_pointer self, std::int32_t shard, const std::string& owner, std::uint64_t generation) {
  auto& group = *self->state.group;
  group.taken.erase(shard);
  ++group.restarts_asked;
  send_note(self->state, hub_note::source_restart, shard, owner, generation);
}

void restart_sources(hub_pointer self, const std::vector<std::int32_t>& shards) {
  auto& st = self->state;
  for (auto shard : shards) {
    if (opens_source(st, shard)) {
      end_source(self, shard);
      open_source(self, shard);
      continue;
    }
    auto taken = st.group->taken.find(shard);
    if (taken != st.group->taken.end())
      ask_restart(self, shard, taken->second.from, taken->second.generation);
  }
}

// Opens the source streams this instance should have open and has not, once there is someone to receive.
void ensure_sources(hub_pointer self) {
  auto& st = self->state;
  if (!ensure_routes(st) || !st.source_template || !receivers(st))
    return;
  for (std::int32_t shard = 1; shard <= st.spec.source_count; ++shard) {
    auto& source = st.sources[shard];
    if (opens_source(st, shard) && !source.call && !(st.group && source.backing_off))
      open_source(self, shard);
  }
}

// Ends a target stream from the hub's side, with `status` for the receiving cluster.
void end_target(hub_pointer self, std::int32_t shard, grpc::Status status) {
  auto& st = self->state;
  auto& target = st.targets[shard];
  if (!target.call)
    return;
  caf::anon_send(target.call, upstream_done{std::move(status), {}});
  st.streams.erase(target.stream);
  target.stream = 0;
  target.call = nullptr;
  st.observe_stream(role::target, shard, -1);
  if (st.group)
    send_note(st, hub_note::target_released, shard);
}

void send_ack(hub_pointer self, replication_switch::to_source ack) {
  auto& st = self->state;
  auto& source = st.sources[ack.source];
  if (!source.call)
    return;  // reopened meanwhile: the new stream starts from the acks the sender stored
  source.last_ack = ack.message;
  caf::anon_send(source.call, downstream_read{buffer_of(std::move(ack.message))});
  if (st.spec.observer)
    st.spec.observer->ack_forwarded(st.spec.connection, st.spec.side, ack.source);
}

// In a group: a member's level for a source this instance opens. The source is sent the least level of every live
// member once each has one, so no task is acked before the instance that serves its target applied it.
void record_level(hub_pointer self, std::int32_t shard, const std::string& member, std::int32_t priority,
                  std::int64_t level) {
  auto& st = self->state;
  auto& group = *st.group;
  auto& levels = group.levels[shard];
  auto& known = levels[member][priority];
  known = std::max(known, level);
  std::optional<std::int64_t> least;
  for (const auto& [name, incarnation] : group.members.alive) {
    auto found = levels.find(name);
    if (found == levels.end())
      return;
    auto at = found->second.find(priority);
    if (at == found->second.end())
      return;
    least = least ? std::min(*least, at->second) : at->second;
  }
  if (!least || !st.routes)
    return;
  auto& sent = group.forwarded[shard];
  auto before = sent.find(priority);
  if (before != sent.end() && before->second >= *least)
    return;
  sent[priority] = *least;
  if (auto ack = st.routes->acknowledge(shard, priority, *least))
    send_ack(self, std::move(*ack));
}

void deliver(hub_pointer self, replication_switch::output& out, std::int32_t from_source) {
  auto& st = self->state;
  for (auto& routed : out.targets) {
    if (st.spec.observer && from_source > 0)
      st.spec.observer->tasks_routed(st.spec.connection, st.spec.side, from_source, routed.target, routed.tasks);
    auto& target = st.targets[routed.target];
    if (target.call) {
      caf::anon_send(target.call, upstream_read{buffer_of(std::move(routed.message))});
    } else if (target.waiting.size() < st.spec.absent_target_queue) {
      target.waiting.push_back(std::move(routed.message));
    } else if (!target.overflowed) {
      target.overflowed = true;
      target.waiting.clear();
      log::warn(st.spec.name, "target shard " + std::to_string(routed.target) +
                                  " has no stream and too many tasks waiting; they will be sent again once it is back");
    }
  }
  if (!st.group) {
    for (auto& ack : out.sources)
      send_ack(self, std::move(ack));
  } else {
    // Each level goes to the instance whose incarnation of the source this hub takes (itself, or the owner).
    for (const auto& level : out.levels) {
      auto taken = st.group->taken.find(level.source);
      if (taken == st.group->taken.end())
        continue;
      if (taken->second.from == st.group->self)
        record_level(self, level.source, st.group->self, level.priority, level.inclusive_low_watermark);
      else
        send_note(st, hub_note::source_level, level.source, taken->second.from, taken->second.generation,
                  level.priority, level.inclusive_low_watermark);
    }
  }
  if (!out.problem.empty())
    log::warn(st.spec.name, out.problem);
}

// Routes a batch of source `shard`'s current incarnation, read here or by the instance that opens it.
void route_batch(hub_pointer self, std::int32_t shard, std::string_view bytes) {
  auto& st = self->state;
  auto out = st.routes->from_source(shard, bytes);
  if (!out) {
    log::warn(st.spec.name,
              "source shard " + std::to_string(shard) + ": " + out.error() + "; the stream is opened again");
    st.routes->source_restarted(shard);
    if (opens_source(st, shard)) {
      end_source(self, shard);
      return open_source(self, shard);
    }
    return restart_sources(self, {shard});
  }
  deliver(self, *out, shard);
}

// In a group: the owners of target shards changed (a claim, a release, a member that came or went). A target this
// hub served and serves no more was taken by a newer stream elsewhere: its tasks here are the other's now, so the
// sources that owed them re-send them.
void update_ownership(hub_pointer self, bool members_changed) {
  auto& st = self->state;
  auto& group = *st.group;
  std::vector<bool> served(static_cast<std::size_t>(st.spec.target_count) + 1);
  for (std::int32_t shard = 1; shard <= st.spec.target_count; ++shard)
    served[shard] = serves_target(st, shard);
  group.ownership = ownership_of(st);
  for (std::int32_t shard = 1; shard <= st.spec.target_count; ++shard) {
    if (!served[shard] || serves_target(st, shard))
      continue;
    auto& target = st.targets[shard];
    if (target.call) {
      auto owner = group.ownership->owner(cluster::shard_role::target, shard).value_or("?");
      log::info(st.spec.name, "target shard " + std::to_string(shard) + ": instance '" + owner +
                                  "' holds a newer stream of it; this one is ended");
      end_target(self, shard,
                 grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "s2s-proxy: replaced by a newer stream of this shard at instance '" + owner + "'"));
    }
    target.waiting.clear();
    target.overflowed = false;
    if (st.routes)
      restart_sources(self, st.routes->target_lost(shard));
  }
  if (members_changed) {
    // A member that left owes nothing any more and one that came must see every incarnation from its start: every
    // source starts again, at the instance that opens it now.
    group.taken.clear();
    group.refused.clear();
    for (std::int32_t shard = 1; shard <= st.spec.source_count; ++shard) {
      if (st.routes)
        st.routes->source_restarted(shard);
      auto& source = st.sources[shard];
      bool open = source.call != nullptr;
      end_source(self, shard);
      group.levels.erase(shard);
      group.forwarded.erase(shard);
      if (opens_source(st, shard)) {
        if (open)
          open_source(self, shard);
      } else {
        source.backing_off = false;
      }
    }
  }
  ensure_sources(self);
  publish(st);
}

void on_target_opened(hub_pointer self, target_opened& opened) {
  auto& st = self->state;
  auto refuse = [&](grpc::StatusCode code, const std::string& why) {
    caf::anon_send(opened.call, upstream_done{grpc::Status(code, "s2s-proxy: " + why), {}});
  };
  if (st.stopping)
    return refuse(grpc::StatusCode::UNAVAILABLE, "replication routing stopped; call again");
  auto shard = shard_of(opened.info.metadata, shards::client_shard_header);
  if (!shard || *shard < 1 || *shard > st.spec.target_count)
    return refuse(grpc::StatusCode::FAILED_PRECONDITION,
                  "shardCount routing: a replication stream from client shard " +
                      (shard ? std::to_string(*shard) : std::string("(none)")) + ", but that cluster has " +
                      std::to_string(st.spec.target_count) + " shards (shardCount on this side)");
  if (!ensure_routes(st))
    return refuse(grpc::StatusCode::UNAVAILABLE, "shardCount routing waits for the schema; call again");
  if (!st.source_template)
    st.source_template = opened.info;
  auto& target = st.targets[*shard];
  if (target.call) {
    // The receiver opened a new stream for the shard: it starts empty, so whatever the old one was sent and did not
    // ack is sent again.
    end_target(self, *shard, grpc::Status(grpc::StatusCode::UNAVAILABLE, "s2s-proxy: replaced by a newer stream"));
    restart_sources(self, st.routes->target_lost(*shard));
  }
  target.stream = opened.stream;
  target.call = opened.call;
  target.opened_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  st.streams[opened.stream] = *shard;
  st.observe_stream(role::target, *shard, +1);
  caf::anon_send(target.call, upstream_metadata{true, {}});
  if (target.overflowed) {
    target.overflowed = false;
    target.waiting.clear();
    restart_sources(self, st.routes->target_lost(*shard));
  }
  for (auto& message : target.waiting)
    caf::anon_send(target.call, upstream_read{buffer_of(std::move(message))});
  target.waiting.clear();
  if (st.group) {
    claim_target(st, *shard);
    return update_ownership(self, false);
  }
  ensure_sources(self);
  publish(st);
}

void on_tick(hub_pointer self) {
  auto& st = self->state;
  if (st.stopping)
    return;
  self->delayed_send(self, tick_interval, tick_atom::value);
  if (st.group) {
    // An instance that learnt of its sources from the others' notes before its schema was loaded opens them once it
    // is: nothing else would tell it to.
    ensure_routes(st);
    // Batches refused from a source's owner (a note lost in a change of members, or no schema yet): that
    // incarnation is asked for again, once there is a schema to count it with.
    auto refused = std::move(st.group->refused);
    st.group->refused.clear();
    for (const auto& [shard, from] : refused) {
      if (from.first == st.group->self) {
        if (st.sources[shard].call && st.sources[shard].generation == from.second) {
          end_source(self, shard);
          open_source(self, shard);
        }
      } else if (st.routes) {
        ask_restart(self, shard, from.first, from.second);
      } else {
        st.group->refused[shard] = from;
      }
    }
    ensure_sources(self);
  }
  publish(st);
  for (auto& [shard, source] : st.sources)
    if (source.call && !source.last_ack.empty())
      caf::anon_send(source.call, downstream_read{buffer_of(source.last_ack)});
  if (++st.ticks % ticks_per_keepalive != 0 || !st.routes)
    return;
  for (auto& keepalive : st.routes->keepalive()) {
    auto& target = st.targets[keepalive.target];
    if (target.call)
      caf::anon_send(target.call, upstream_read{buffer_of(std::move(keepalive.message))});
  }
}

void on_target_closed(hub_pointer self, std::uint64_t stream) {
  auto& st = self->state;
  auto found = st.streams.find(stream);
  if (found == st.streams.end())
    return;  // ended by the hub, or replaced
  auto shard = found->second;
  st.streams.erase(found);
  auto& target = st.targets[shard];
  caf::anon_send(target.call, upstream_done{grpc::Status(grpc::StatusCode::CANCELLED, "s2s-proxy: stream ended"), {}});
  target.call = nullptr;
  target.stream = 0;
  st.observe_stream(role::target, shard, -1);
  if (st.group)
    send_note(st, hub_note::target_released, shard);
  if (!receivers(st)) {
    // Nobody receives any more: the sources stop, and start again from their stored acks with the next target.
    for (auto& [source, entry] : st.sources) {
      end_source(self, source);
      st.routes->source_restarted(source);
    }
    for (auto& [other, entry] : st.targets) {
      entry.waiting.clear();
      entry.overflowed = false;
    }
    st.routes->target_lost(shard);
  } else {
    restart_sources(self, st.routes->target_lost(shard));
  }
  if (st.group)
    update_ownership(self, false);
}

void on_source_ended(hub_pointer self, source_ended& ended) {
  auto& st = self->state;
  auto& source = st.sources[ended.shard];
  if (ended.generation != source.generation || !source.call)
    return;  // an incarnation the hub ended itself
  source.call = nullptr;
  source.backing_off = true;
  st.observe_stream(role::source, ended.shard, -1);
  st.routes->source_restarted(ended.shard);
  if (source.carried || source.retry.count() == 0)
    source.retry = st.spec.retry_first;
  else
    source.retry = std::min(source.retry * 2, st.spec.retry_cap);
  log::info(st.spec.name, "the replication stream from source shard " + std::to_string(ended.shard) + " ended (" +
                              ended.status.error_message() + "); opening it again in " +
                              std::to_string(source.retry.count()) + " ms");
  self->delayed_send(self, source.retry, reopen_atom::value, ended.shard, source.generation);
}

// A note from another instance's hub of this side.
void on_note(hub_pointer self, hub_note& note) {
  auto& st = self->state;
  auto& group = *st.group;
  ++group.received;
  if (note.what == hub_note::targets_reset) {
    group.claims[note.from] = {note.incarnation, {}};
    return update_ownership(self, false);
  }
  if (note.shard < 1)
    return;
  switch (note.what) {
    case hub_note::source_opened:
      if (note.shard > st.spec.source_count)
        return;
      group.taken[note.shard] = {note.from, note.incarnation, note.generation};
      group.refused.erase(note.shard);
      if (st.routes)
        st.routes->source_restarted(note.shard);
      return;
    case hub_note::source_batch: {
      if (note.shard > st.spec.source_count)
        return;
      auto taken = group.taken.find(note.shard);
      bool current = taken != group.taken.end() && taken->second.from == note.from &&
                     taken->second.incarnation == note.incarnation && taken->second.generation == note.generation;
      if (!current || !ensure_routes(st)) {
        // Not the start of this incarnation here: it cannot count that source's tasks whole, so it asks again (at
        // the tick) if the sender is the source's owner; a late batch of a former owner is just dropped.
        if (source_owner(st, note.shard) == note.from)
          group.refused[note.shard] = {note.from, note.generation};
        return;
      }
      return route_batch(self, note.shard, note.bytes);
    }
    case hub_note::source_level: {
      if (note.shard > st.spec.source_count || !opens_source(st, note.shard))
        return;
      const auto& source = st.sources[note.shard];
      if (!source.call || source.generation != note.generation)
        return;
      return record_level(self, note.shard, note.from, note.priority, note.value);
    }
    case hub_note::source_restart: {
      if (note.shard > st.spec.source_count || !opens_source(st, note.shard))
        return;
      const auto& source = st.sources[note.shard];
      if (!source.call || source.generation != note.generation)
        return;  // opened again since: the asker has the new incarnation coming
      log::info(st.spec.name, "instance '" + note.from + "' asks for source shard " + std::to_string(note.shard) +
                                  " again; opening its stream again");
      end_source(self, note.shard);
      open_source(self, note.shard);
      return publish(st);
    }
    case hub_note::target_claimed: {
      if (note.shard > st.spec.target_count)
        return;
      auto& claims = group.claims[note.from];
      if (claims.first != note.incarnation)
        claims = {note.incarnation, {}};
      claims.second[note.shard] = note.value;
      if (!st.source_template) {
        if (auto metadata = decode_metadata(note.bytes)) {
          call_info model;
          model.method = std::string(shards::replication_stream_method);
          model.metadata = std::move(*metadata);
          st.source_template = std::move(model);
        }
      }
      ensure_routes(st);
      return update_ownership(self, false);
    }
    case hub_note::target_released: {
      auto claims = group.claims.find(note.from);
      if (claims == group.claims.end() || claims->second.first != note.incarnation)
        return;
      claims->second.second.erase(note.shard);
      return update_ownership(self, false);
    }
    default:
      return;
  }
}

void on_members(hub_pointer self, group_members& members) {
  auto& st = self->state;
  auto& group = *st.group;
  auto& alive = members.alive;
  if (std::none_of(alive.begin(), alive.end(), [&](const auto& member) { return member.first == group.self; }))
    alive.emplace_back(group.self, 0);
  std::sort(alive.begin(), alive.end());
  if (members == group.members)
    return;
  group.members = std::move(members);
  std::string names;
  for (const auto& [name, incarnation] : group.members.alive)
    names += (names.empty() ? "" : ", ") + name;
  log::info(st.spec.name, "the group's live instances are now " + names +
                              "; the sources start again where they are "
                              "owned");
  update_ownership(self, true);
  // Those that came must hear of this instance's target streams, and those that stayed may have missed a release.
  send_note(st, hub_note::targets_reset, 0);
  for (const auto& [shard, target] : st.targets)
    if (target.call)
      claim_target(st, shard);
}

// The listener drained: every stream ends now, while the connections the source streams run on still run. The
// answer comes once the source calls have ended (their upstream halves cancelled), and the hub ends with it.
caf::result<bool> stop_hub(hub_pointer self) {
  auto& st = self->state;
  auto promise = self->make_response_promise<bool>();
  if (st.stopping) {
    promise.deliver(true);  // a second stop: the first one's answer is the one that waits
    return promise;
  }
  st.stopping = true;
  for (auto& [shard, target] : st.targets)
    if (target.call) {
      caf::anon_send(target.call, upstream_done{grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                                             "s2s-proxy: replication routing stopped; call again"),
                                                {}});
      target.call = nullptr;
    }
  for (auto& [shard, source] : st.sources)
    if (source.call) {
      self->monitor(source.call);
      st.ending.insert(caf::actor_cast<caf::actor_addr>(source.call));
      caf::anon_send(source.call, downstream_cancelled{});
      source.call = nullptr;
    }
  if (st.ending.empty()) {
    promise.deliver(true);
    self->quit();
    return promise;
  }
  st.stopped = promise;
  return promise;
}

hub_actor::behavior_type hub_behavior(hub_pointer self, routing_spec spec, std::shared_ptr<published_view> published) {
  auto& st = self->state;
  st.spec = std::move(spec);
  st.published = std::move(published);
  if (st.spec.group) {
    group_part group;
    group.link = st.spec.group;
    group.side = st.spec.side == translation::side::outbound ? 0 : 1;
    group.self = group.link->node_name();
    group.members.alive.emplace_back(group.self, 0);
    st.group = std::move(group);
    st.group->ownership = ownership_of(st);
    publish(st);
    // What the others' notes leave undone (sources learnt of before the schema, batches to ask for again) is
    // taken up at the tick, so a hub of a group ticks from its start, streams or none.
    start_ticking(self);
  }
  self->set_down_handler([self](caf::down_msg& down) {
    auto& st = self->state;
    if (st.ending.erase(down.source) == 0 || !st.ending.empty() || !st.stopped)
      return;
    st.stopped->deliver(true);
    self->quit();
  });
  return {
      [self](target_opened& opened) { on_target_opened(self, opened); },
      [self](target_request& request) {
        auto& st = self->state;
        auto found = st.streams.find(request.stream);
        if (found == st.streams.end())
          return;
        auto shard = found->second;
        auto out =
            with_bytes(request.message, [&](std::string_view bytes) { return st.routes->from_target(shard, bytes); });
        if (!out) {
          log::warn(st.spec.name, "target shard " + std::to_string(shard) + ": " + out.error());
          end_target(self, shard,
                     grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "s2s-proxy: shardCount routing: " + out.error()));
          restart_sources(self, st.routes->target_lost(shard));
          if (st.group)
            update_ownership(self, false);
          return;
        }
        deliver(self, *out, 0);
      },
      [self](target_closed closed) {
        on_target_closed(self, closed.stream);
        publish(self->state);
      },
      [self](source_response& response) {
        auto& st = self->state;
        auto& source = st.sources[response.shard];
        if (response.generation != source.generation || !source.call)
          return;
        source.carried = true;
        if (!st.group)
          return with_bytes(response.message,
                            [&](std::string_view bytes) { return route_batch(self, response.shard, bytes); });
        // Every hub of the group routes the batch to the targets it serves; each sends back its level.
        auto bytes = rpc::flatten(response.message);
        send_note(st, hub_note::source_batch, response.shard, {}, response.generation, 0, 0, bytes);
        auto taken = st.group->taken.find(response.shard);
        if (taken == st.group->taken.end() || taken->second.from != st.group->self ||
            taken->second.generation != response.generation) {
          st.group->refused[response.shard] = {st.group->self, response.generation};
          return;
        }
        route_batch(self, response.shard, bytes);
      },
      [self](source_ended& ended) { on_source_ended(self, ended); },
      [self](tick_atom) { on_tick(self); },
      // The source streams open toward the sending cluster's restarted upstream from now on.
      [self](upstream_atom, upstream_actor& upstream) { self->state.spec.upstream = std::move(upstream); },
      [self](reopen_atom, std::int32_t shard, std::uint64_t generation) {
        auto& st = self->state;
        auto& source = st.sources[shard];
        if (source.call || source.generation != generation)
          return;  // reopened already
        source.backing_off = false;
        if (!receivers(st) || !opens_source(st, shard))
          return;  // nobody to receive, or another instance's now
        open_source(self, shard);
      },
      [self](hub_note& note) {
        if (self->state.group)
          on_note(self, note);
      },
      [self](group_members& members) {
        if (self->state.group && !self->state.stopping)
          on_members(self, members);
      },
      [self](stop_atom) { return stop_hub(self); },
  };
}

class hub_entrance final : public routing_entrance {
 public:
  hub_entrance(caf::actor_system& system, hub_actor hub, const std::string& name,
               std::shared_ptr<published_view> published)
      : system_(system),
        published_(std::move(published)),
        hub_(std::move(hub)),
        upstream_(spawn_target_upstream(system, name + " routing", std::make_shared<hub_target>(hub_))) {}
  ~hub_entrance() override {
    caf::anon_send_exit(hub_, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(upstream_, caf::exit_reason::user_shutdown);
  }
  bool takes(const call_info& info) const override {
    if (info.method != shards::replication_stream_method)
      return false;
    return std::none_of(info.metadata.begin(), info.metadata.end(),
                        [](const auto& entry) { return entry.first == routed_stream_header; });
  }
  upstream_actor upstream() const override { return upstream_; }
  routing_view view() const override {
    std::lock_guard guard(published_->mutex);
    return published_->view;
  }
  void replace_source_upstream(upstream_actor upstream) override {
    caf::anon_send(hub_, upstream_atom::value, std::move(upstream));
  }
  void stop(std::chrono::milliseconds bound) override {
    caf::scoped_actor self{system_};
    self->request(hub_, bound, stop_atom::value).receive([](bool) {}, [](caf::error&) {});
  }

 private:
  caf::actor_system& system_;
  std::shared_ptr<published_view> published_;
  hub_actor hub_;
  upstream_actor upstream_;
};

}  // namespace

std::shared_ptr<routing_entrance> start_routing(caf::actor_system& system, routing_spec spec) {
  auto name = spec.name;
  auto group = spec.group;
  std::int32_t side = spec.side == translation::side::outbound ? 0 : 1;
  auto published = std::make_shared<published_view>();
  auto hub = system.spawn(hub_behavior, std::move(spec), published);
  if (group)
    group->attach_hub(side, caf::actor_cast<caf::actor>(hub));
  return std::make_shared<hub_entrance>(system, std::move(hub), name, std::move(published));
}

}  // namespace s2s::actors
