// The proxy from its config: every cluster connection's table of supervised children, and its start.
#include "actors/proxy.hpp"

#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/send.hpp>

#include "actors/call/target.hpp"
#include "actors/listener.hpp"
#include "actors/membership.hpp"
#include "actors/mux/connection.hpp"
#include "actors/mux/upstream.hpp"
#include "actors/schema.hpp"
#include "actors/translator.hpp"
#include "actors/upstream.hpp"
#include "cluster/group_config.hpp"
#include "log/log.hpp"
#include "rpc/stream_channels.hpp"
#include "tls/context.hpp"

namespace s2s::actors {
namespace {

std::shared_ptr<call_observer> observer_of(const proxy_options& options, const std::string& listener_name) {
  return options.observe_calls ? options.observe_calls(listener_name) : nullptr;
}

std::string listener_of(const std::string& connection, translation::side arrived_on) {
  return connection + (arrived_on == translation::side::outbound ? " outbound" : " inbound");
}

// shardCount.mode routing: the hub that ends the replication streams arriving on this side and opens its own toward
// `upstream`; null in the other modes. The streams are opened by the receiving cluster: the local one on the outbound
// side.
std::shared_ptr<routing_entrance> routing_of(caf::actor_system& system, const config::cluster_connection& connection,
                                             translation::side arrived_on, const std::string& name,
                                             upstream_actor upstream, const translation_setup& translation,
                                             const proxy_options& options, std::shared_ptr<group_link> group) {
  if (connection.shards.mode != config::shard_count_mode::routing)
    return nullptr;
  bool outbound = arrived_on == translation::side::outbound;
  routing_spec spec;
  spec.name = name;
  spec.connection = connection.name;
  spec.side = arrived_on;
  spec.target_count = outbound ? connection.shards.local_shard_count : connection.shards.remote_shard_count;
  spec.source_count = outbound ? connection.shards.remote_shard_count : connection.shards.local_shard_count;
  spec.upstream = std::move(upstream);
  spec.codec = [translator = translation.translator_of(connection.name, arrived_on)] {
    return translator ? translator->replication_codec() : nullptr;
  };
  spec.calls = observer_of(options, name);
  spec.observer = options.observe_routing;
  spec.group = std::move(group);
  return start_routing(system, std::move(spec));
}

// The outbound listener's filters in a group: a call another instance of this side forwarded here
// (forwarded_by_header) ran them there already, so its messages pass untouched; every other call runs
// `filter` (null: none).
class unless_forwarded final : public call_filter {
 public:
  explicit unless_forwarded(std::shared_ptr<call_filter> filter) : filter_(std::move(filter)) {}
  decision start(const call_info& info) override {
    if (!filter_ || forwarded_by(info))
      return {};
    return filter_->start(info);
  }

 private:
  std::shared_ptr<call_filter> filter_;
};

template <class Handle>
started_child child_of(const Handle& actor, int port = 0) {
  return {caf::actor_cast<caf::strong_actor_ptr>(actor), port};
}

// The way to one TCP target: HTTP/2 connections shared by the calls that come and go, and
// connections of their own for long-lived streams (see rpc/stream_channels.hpp), each logged as it opens.
// The connections outlive the upstream actor (the calls in flight are on them), so one that replaces
// it leases the same ones: the target is made at the first start and kept.
child_spec tcp_upstream(const std::string& name, const config::endpoint& target, const proxy_options& options) {
  h2_target_spec spec{name, target, rpc::is_long_lived_stream};
  if (options.long_lived_stream)
    spec.long_lived = options.long_lived_stream;
  auto made = std::make_shared<std::shared_ptr<upstream_target>>();
  child_spec child;
  child.name = name + " upstream";
  child.kind = child_kind::upstream;
  child.address = target.addr.to_string();
  child.serves = {name};
  child.restarts = options.restarts;
  child.start = [name, spec, made](caf::actor_system& system,
                                   const child_actors&) -> std::variant<started_child, std::string> {
    if (!*made) {
      auto dialing = make_dialing_target(spec);
      if (auto* error = std::get_if<std::string>(&dialing))
        return name + ": " + *error;
      *made = std::get<0>(std::move(dialing));
    }
    return child_of(spawn_target_upstream(system, name, *made));
  };
  return child;
}

// A listener whose calls go to the upstream at `upstream` in the table, through the side's filters;
// with shardCount routing, its hub is made at the first start and learns of a restarted upstream too; in a group it
// shares the shards with the other instances' hubs through `group`.
child_spec listener(const config::cluster_connection& connection, translation::side arrived_on, listener_spec spec,
                    std::size_t upstream, bool portless, std::shared_ptr<translation_setup> translation,
                    const proxy_options& options, std::shared_ptr<group_link> group = nullptr) {
  auto routing = std::make_shared<std::shared_ptr<routing_entrance>>();
  child_spec child;
  child.name = spec.name;
  child.kind = child_kind::listener;
  child.address = portless ? "" : spec.endpoint.addr.to_string();
  child.serves = {spec.name};
  child.restarts = options.restarts;
  child.uses = {{upstream, [routing](const caf::strong_actor_ptr& self, const caf::strong_actor_ptr& replacement) {
                   auto upstream = caf::actor_cast<upstream_actor>(replacement);
                   caf::anon_send(caf::actor_cast<listener_actor>(self), upstream_atom::value, upstream);
                   if (*routing)
                     (*routing)->replace_source_upstream(upstream);
                 }}};
  child.start = [connection, arrived_on, spec, upstream, portless, routing, translation, options, group](
                    caf::actor_system& system, const child_actors& now) -> std::variant<started_child, std::string> {
    auto wired = spec;
    wired.upstream = now.get<upstream_actor>(upstream);
    if (!*routing)
      *routing = routing_of(system, connection, arrived_on, spec.name, wired.upstream, *translation, options, group);
    wired.routing = *routing;
    auto started =
        portless ? start_portless_listener(system, std::move(wired)) : start_listener(system, std::move(wired));
    if (auto* error = std::get_if<std::string>(&started))
      return *error;
    auto& ok = std::get<started_listener>(started);
    return child_of(ok.actor, ok.port);
  };
  return child;
}

listener_spec listener_spec_of(const config::cluster_connection& connection, translation::side arrived_on,
                               const config::endpoint& serve, translation_setup& translation,
                               const proxy_options& options) {
  auto name = listener_of(connection.name, arrived_on);
  return {name,   serve, {}, translation.filter(connection, arrived_on, options.filter), observer_of(options, name),
          nullptr};
}

// A TCP-mode connection: each direction an upstream and the listener whose calls go to it.
void tcp_children(const config::cluster_connection& connection, const proxy_options& options,
                  const std::shared_ptr<translation_setup>& translation, std::vector<child_spec>& table) {
  struct direction {
    translation::side arrived_on;
    const config::endpoint& serve;
    const config::endpoint& target;
  };
  direction directions[] = {
      {translation::side::outbound, *connection.local.tcp_server, *connection.remote.tcp_client},
      {translation::side::inbound, *connection.remote.tcp_server, *connection.local.tcp_client},
  };
  for (const auto& way : directions) {
    auto spec = listener_spec_of(connection, way.arrived_on, way.serve, *translation, options);
    table.push_back(tcp_upstream(spec.name, way.target, options));
    auto upstream = table.size() - 1;
    table.push_back(listener(connection, way.arrived_on, std::move(spec), upstream, false, translation, options));
  }
}

// How a mux session is tuned: per-stream windows larger than yamux's 256 KiB default keep
// large messages moving at a round trip's cost; keepalive as hashicorp/yamux.
yamux::config mux_tuning() {
  yamux::config tuning;
  tuning.max_stream_window = 4 * 1024 * 1024;
  return tuning;
}

mux_admission admission_of(const config::cluster_connection& connection) {
  mux_admission admission;
  if (const auto& chosen = connection.remote.admission) {
    admission.hello_timeout = std::chrono::milliseconds(chosen->client_hello_timeout_ms);
    admission.handshake_timeout = std::chrono::milliseconds(chosen->handshake_timeout_ms);
    admission.max_waiting = static_cast<std::size_t>(chosen->max_waiting);
    admission.max_waiting_per_source = static_cast<std::size_t>(chosen->max_waiting_per_source);
    admission.max_handshakes = static_cast<std::size_t>(chosen->max_handshakes);
  }
  return admission;
}

// The mux connection, whose sessions give their channels to the mux upstream at `outbound` and
// hand the streams the peer opens to the listener at `inbound`; told when either is replaced.
child_spec mux_connection(const config::cluster_connection& connection, std::size_t outbound, std::size_t inbound,
                          const proxy_options& options) {
  bool client = connection.remote.type == config::connection_type::mux_client;
  const auto& mux_address = *connection.remote.mux_address;
  mux_connection_spec spec;
  spec.name = connection.name;
  spec.client = client;
  spec.mux_address = mux_address;
  spec.mux_count = connection.remote.mux_count;
  spec.yamux = mux_tuning();
  spec.admission = admission_of(connection);
  auto label = connection.name + " mux";
  // The validation loaded the same TLS files; what fails here is the machine (a file changed or went away since).
  // Made at the first start and kept for the restarts.
  auto tls_context = std::make_shared<tls::context_ptr>();
  child_spec child;
  child.name = label;
  child.kind = child_kind::mux_connection;
  child.address = mux_address.addr.to_string();
  child.serves = {listener_of(connection.name, translation::side::outbound),
                  listener_of(connection.name, translation::side::inbound)};
  child.restarts = options.restarts;
  child.uses = {{outbound,
                 [](const caf::strong_actor_ptr& self, const caf::strong_actor_ptr& replacement) {
                   caf::anon_send(caf::actor_cast<mux_connection_actor>(self), upstream_atom::value,
                                  caf::actor_cast<mux_upstream_actor>(replacement));
                 }},
                {inbound, [](const caf::strong_actor_ptr& self, const caf::strong_actor_ptr& replacement) {
                   caf::anon_send(caf::actor_cast<mux_connection_actor>(self), inbound_atom::value,
                                  caf::actor_cast<listener_actor>(replacement));
                 }}};
  child.start = [spec, label, client, outbound, inbound, tls_context](
                    caf::actor_system& system, const child_actors& now) -> std::variant<started_child, std::string> {
    auto wired = spec;
    const auto& tls = wired.mux_address.tls;
    if (tls.enabled() && !*tls_context) {
      auto made = client ? tls::client_context(tls) : tls::server_context(tls);
      if (auto* error = std::get_if<std::string>(&made))
        return label + ": " + *error;
      *tls_context = std::get<tls::context_ptr>(made);
      if (client && tls.skip_ca_verification)
        log::warn(label, "skipCAVerification is set: the server's certificate is not verified");
    }
    wired.tls_context = *tls_context;
    wired.outbound = now.get<mux_upstream_actor>(outbound);
    wired.inbound = now.get<listener_actor>(inbound);
    auto started = start_mux_connection(system, std::move(wired));
    if (auto* error = std::get_if<std::string>(&started))
      return *error;
    auto& ok = std::get<started_mux_connection>(started);
    return child_of(ok.actor, ok.port);
  };
  return child;
}

// This instance in its side's group (memberlist): published on bindAddr:bindPort over CAF's middleman with
// the group's mutual TLS, it tells the mux upstream at `upstream` which peers can carry its calls, and asks
// it for the sessions its heartbeats announce.
child_spec group_member(const config::cluster_connection& connection, std::size_t upstream, std::uint64_t incarnation,
                        const proxy_options& options, std::shared_ptr<group_link> hubs) {
  auto settings = membership_settings_from(cluster::plan_group(*connection.memberlist, incarnation));
  settings.hubs = std::move(hubs);
  auto name = connection.name + " member";
  settings.log_component = name;
  child_spec child;
  child.name = name;
  child.kind = child_kind::member;
  child.address = settings.plan.bind.to_string();
  child.serves = {listener_of(connection.name, translation::side::outbound)};
  child.restarts = options.restarts;
  child.uses = {{upstream, [](const caf::strong_actor_ptr& self, const caf::strong_actor_ptr& replacement) {
                   caf::anon_send(caf::actor_cast<membership_actor>(self), upstream_atom::value,
                                  caf::actor_cast<mux_upstream_actor>(replacement));
                 }}};
  child.start = [settings, upstream, name](caf::actor_system& system,
                                           const child_actors& now) -> std::variant<started_child, std::string> {
    if (!system.has_openssl_manager())
      return name + ": the actor system runs without the group's TLS (memberlist.tls)";
    auto wired = settings;
    wired.upstream = now.get<mux_upstream_actor>(upstream);
    return child_of(spawn_membership(system, std::move(wired), system.openssl_manager().actor_handle()));
  };
  return child;
}

// A mux-mode cluster connection: the outbound listener on local.tcpServer leases the channels
// of the mux sessions; the streams the peer opens are served by a port-less inbound listener
// that forwards to local.tcpClient.
void mux_children(const config::cluster_connection& connection, const proxy_options& options,
                  const std::shared_ptr<translation_setup>& translation, std::uint64_t incarnation,
                  std::vector<child_spec>& table) {
  const auto& local = connection.local;
  auto address = connection.remote.mux_address->addr.to_string();
  bool grouped = connection.memberlist && connection.memberlist->enabled;
  auto node_name = grouped ? connection.memberlist->node_name : std::string();
  auto inbound_spec =
      listener_spec_of(connection, translation::side::inbound, *local.tcp_client, *translation, options);
  auto outbound_spec =
      listener_spec_of(connection, translation::side::outbound, *local.tcp_server, *translation, options);
  if (grouped)
    outbound_spec.filter = std::make_shared<unless_forwarded>(std::move(outbound_spec.filter));
  // shardCount routing in a group: the hubs of both sides share their shards with the peers' through the member.
  std::shared_ptr<group_link> hubs;
  if (grouped && connection.shards.mode == config::shard_count_mode::routing)
    hubs = std::make_shared<group_link>(node_name);

  child_spec mux_upstream;
  mux_upstream.name = outbound_spec.name + " upstream";
  mux_upstream.kind = child_kind::upstream;
  mux_upstream.address = address;
  mux_upstream.serves = {outbound_spec.name};
  mux_upstream.restarts = options.restarts;
  mux_upstream.start = [address, node_name](caf::actor_system& system,
                                            const child_actors&) -> std::variant<started_child, std::string> {
    return child_of(spawn_mux_upstream(system, address, node_name));
  };
  table.push_back(std::move(mux_upstream));
  auto outbound = table.size() - 1;

  table.push_back(tcp_upstream(inbound_spec.name, *local.tcp_client, options));
  auto frontend = table.size() - 1;
  table.push_back(listener(connection, translation::side::inbound, std::move(inbound_spec), frontend, true, translation,
                           options, hubs));
  auto inbound = table.size() - 1;
  table.push_back(mux_connection(connection, outbound, inbound, options));
  if (grouped)
    table.push_back(group_member(connection, outbound, incarnation, options, hubs));
  table.push_back(listener(connection, translation::side::outbound, std::move(outbound_spec), outbound, false,
                           translation, options, hubs));
}

// One schema actor per source of descriptors, feeding the translators that read it; each is told to
// end with the supervisor.
void schema_children(const std::shared_ptr<translation_setup>& translation, const proxy_options& options,
                     std::vector<child_spec>& table) {
  for (std::size_t source = 0; source < translation->schema_sources(); ++source) {
    child_spec child;
    child.name = "schema from " + translation->describe_source(source);
    child.kind = child_kind::schema;
    child.restarts = options.restarts;
    for (const auto& user : translation->translators_of_source(source))
      if (user->needs_schema())
        child.serves.push_back(listener_of(user->name(), user->arrived_on()));
    child.start = [translation, source](caf::actor_system& system,
                                        const child_actors&) -> std::variant<started_child, std::string> {
      return child_of(translation->start_schema(system, source));
    };
    child.adopted = [](const caf::strong_actor_ptr& child, const caf::actor_addr& supervisor) {
      caf::anon_send(caf::actor_cast<schema_actor>(child), watch_atom::value, supervisor);
    };
    table.push_back(std::move(child));
  }
}

}  // namespace

proxy_children proxy_table(const config::config& config, const proxy_options& options) {
  proxy_children made;
  // Each listener runs the translator of its side after options.filter.
  made.translation = std::make_shared<translation_setup>(config, options.observe_translation);
  // A group member's incarnation: larger on every start of the process.
  auto incarnation = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  for (const auto& connection : config.cluster_connections) {
    if (connection.remote.type == config::connection_type::tcp)
      tcp_children(connection, options, made.translation, made.table);
    else
      mux_children(connection, options, made.translation, incarnation, made.table);
  }
  schema_children(made.translation, options, made.table);
  return made;
}

std::vector<std::string> prepare_actor_system(caf::actor_system_config& actor_config, const config::config& config) {
  for (const auto& connection : config.cluster_connections) {
    if (!connection.memberlist || !connection.memberlist->enabled)
      continue;
    const auto& tls = connection.memberlist->tls;
    // The validation made sure every enabled memberlist names the same files: the first one sets them.
    return configure_group_tls(actor_config, {tls.certificate_path, tls.key_path, tls.remote_ca_path});
  }
  return {};
}

std::variant<started_proxy, std::string> start_proxy(caf::actor_system& system, const config::config& config,
                                                     proxy_options options) {
  auto children = proxy_table(config, options);
  auto started = start_children(system, children.table);
  if (auto* problems = std::get_if<std::string>(&started))
    return *problems;
  auto& actors = std::get<std::vector<started_child>>(started);
  started_proxy result;
  result.report = report_of(children.table, actors);
  result.supervisor = spawn_supervisor(system, std::move(children.table), std::move(actors));
  result.translation = std::move(children.translation);
  return result;
}

}  // namespace s2s::actors
