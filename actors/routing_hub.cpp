// The routing hub: ends the target streams, opens the source streams and routes tasks between them.
#include "actors/routing_hub.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <optional>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/upstream.hpp"
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
                     caf::reacts_to<upstream_atom, upstream_actor>>;

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
  void send_metadata(const metadata_list&) override {}
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
  std::deque<std::string> waiting;  // responses routed while no stream was open
  bool overflowed = false;          // some were dropped: the sources re-send them when the target is back
};

struct source_entry {
  std::uint64_t generation = 0;
  call_actor call;  // null while waiting to be opened again
  std::chrono::milliseconds retry{0};
  bool carried = false;  // the current incarnation delivered a message
  std::string last_ack;  // the last SyncReplicationState the current incarnation was sent; empty: none yet
};

// The hub's view, published for readers on other threads.
struct published_view {
  mutable std::mutex mutex;
  routing_view view;
};

struct hub_state {
  static inline const char* name = "routing-hub";
  routing_spec spec;
  std::shared_ptr<published_view> published;
  std::optional<replication_switch> routes;  // made when the first target stream arrives
  std::map<std::int32_t, target_entry> targets;
  std::map<std::uint64_t, std::int32_t> streams;  // open target stream -> its shard
  std::map<std::int32_t, source_entry> sources;
  std::optional<call_info> source_template;  // the first target stream's, for the source streams' metadata
  std::uint64_t generations = 0;
  bool ticking = false;
  int ticks = 0;

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
  std::lock_guard guard(st.published->mutex);
  st.published->view = std::move(view);
}

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

void open_source(hub_pointer self, std::int32_t shard) {
  auto& st = self->state;
  auto& source = st.sources[shard];
  source.generation = ++st.generations;
  source.carried = false;
  source.last_ack.clear();
  auto port = std::make_shared<source_port>(self, shard, source.generation, source_info(*st.source_template, shard));
  source.call = spawn_call(self->system(), {port, st.spec.upstream, nullptr, st.spec.calls});
  st.observe_stream(role::source, shard, +1);
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

void restart_sources(hub_pointer self, const std::vector<std::int32_t>& shards) {
  for (auto shard : shards) {
    end_source(self, shard);
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
  for (auto& ack : out.sources) {
    auto& source = st.sources[ack.source];
    if (!source.call)
      continue;  // reopened meanwhile: the new stream starts from the acks the sender stored
    source.last_ack = ack.message;
    caf::anon_send(source.call, downstream_read{buffer_of(std::move(ack.message))});
    if (st.spec.observer)
      st.spec.observer->ack_forwarded(st.spec.connection, st.spec.side, ack.source);
  }
  if (!out.problem.empty())
    log::warn(st.spec.name, out.problem);
}

void on_target_opened(hub_pointer self, target_opened& opened) {
  auto& st = self->state;
  auto refuse = [&](grpc::StatusCode code, const std::string& why) {
    caf::anon_send(opened.call, upstream_done{grpc::Status(code, "s2s-proxy: " + why), {}});
  };
  auto shard = shard_of(opened.info.metadata, shards::client_shard_header);
  if (!shard || *shard < 1 || *shard > st.spec.target_count)
    return refuse(grpc::StatusCode::FAILED_PRECONDITION,
                  "shardCount routing: a replication stream from client shard " +
                      (shard ? std::to_string(*shard) : std::string("(none)")) + ", but that cluster has " +
                      std::to_string(st.spec.target_count) + " shards (shardCount on this side)");
  if (!st.routes) {
    auto codec = st.spec.codec ? st.spec.codec() : nullptr;
    if (!codec)
      return refuse(grpc::StatusCode::UNAVAILABLE, "shardCount routing waits for the schema; call again");
    st.routes.emplace(*codec, st.spec.source_count, st.spec.target_count, [](std::int32_t) { return true; });
  }
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
  for (std::int32_t source = 1; source <= st.spec.source_count; ++source)
    if (!st.sources[source].call)
      open_source(self, source);
  if (!st.ticking) {
    st.ticking = true;
    self->delayed_send(self, tick_interval, tick_atom::value);
  }
  publish(st);
}

void on_tick(hub_pointer self) {
  auto& st = self->state;
  self->delayed_send(self, tick_interval, tick_atom::value);
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
  if (st.streams.empty()) {
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
    return;
  }
  restart_sources(self, st.routes->target_lost(shard));
}

void on_source_ended(hub_pointer self, source_ended& ended) {
  auto& st = self->state;
  auto& source = st.sources[ended.shard];
  if (ended.generation != source.generation || !source.call)
    return;  // an incarnation the hub ended itself
  source.call = nullptr;
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

hub_actor::behavior_type hub_behavior(hub_pointer self, routing_spec spec, std::shared_ptr<published_view> published) {
  self->state.spec = std::move(spec);
  self->state.published = std::move(published);
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
          return restart_sources(self, st.routes->target_lost(shard));
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
        auto out = with_bytes(response.message,
                              [&](std::string_view bytes) { return st.routes->from_source(response.shard, bytes); });
        if (!out) {
          log::warn(st.spec.name, "source shard " + std::to_string(response.shard) + ": " + out.error() +
                                      "; the stream is opened again");
          st.routes->source_restarted(response.shard);
          end_source(self, response.shard);
          return open_source(self, response.shard);
        }
        deliver(self, *out, response.shard);
      },
      [self](source_ended& ended) { on_source_ended(self, ended); },
      [self](tick_atom) { on_tick(self); },
      // The source streams open toward the sending cluster's restarted upstream from now on.
      [self](upstream_atom, upstream_actor& upstream) { self->state.spec.upstream = std::move(upstream); },
      [self](reopen_atom, std::int32_t shard, std::uint64_t generation) {
        auto& st = self->state;
        auto& source = st.sources[shard];
        if (source.call || source.generation != generation || st.streams.empty())
          return;  // reopened already, or nobody to receive
        open_source(self, shard);
      },
  };
}

class hub_entrance final : public routing_entrance {
 public:
  hub_entrance(caf::actor_system& system, hub_actor hub, const std::string& name,
               std::shared_ptr<published_view> published)
      : published_(std::move(published)),
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

 private:
  std::shared_ptr<published_view> published_;
  hub_actor hub_;
  upstream_actor upstream_;
};

}  // namespace

std::shared_ptr<routing_entrance> start_routing(caf::actor_system& system, routing_spec spec) {
  auto name = spec.name;
  auto published = std::make_shared<published_view>();
  auto hub = system.spawn(hub_behavior, std::move(spec), published);
  return std::make_shared<hub_entrance>(system, std::move(hub), name, std::move(published));
}

}  // namespace s2s::actors
