// What operators see of a running proxy, started from the config: logging settings, /metrics,
// each side's /health and /debug/connections.
#include "app/operations.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include <algorithm>
#include <map>

#include "health/health_endpoint.hpp"

namespace s2s::app {
namespace {

constexpr double default_lines_per_second = 10;

log::settings settings_from(const config::logging_config& logging, const log::settings& inherited) {
  log::settings result = inherited;
  if (auto level = log::parse_level(logging.level))
    result.minimum = *level;
  result.disabled = logging.disabled;
  if (logging.throttle_max_rps > 0)
    result.max_lines_per_second = logging.throttle_max_rps;
  return result;
}

constexpr std::chrono::seconds answer_bound{1};

std::optional<actors::proxy_report> report_of(caf::actor_system& system, const actors::supervisor_actor& supervisor) {
  caf::scoped_actor self{system};
  std::optional<actors::proxy_report> report;
  self->request(supervisor, answer_bound, actors::stats_atom::value)
      .receive([&](actors::proxy_report& answer) { report = std::move(answer); }, [](caf::error&) {});
  return report;
}

// A listener's figures, or nothing if it does not answer in time.
std::optional<actors::listener_stats> listener_stats_of(caf::actor_system& system,
                                                        const actors::listener_actor& listener) {
  caf::scoped_actor self{system};
  std::optional<actors::listener_stats> stats;
  self->request(listener, answer_bound, actors::stats_atom::value)
      .receive([&](actors::listener_stats& answer) { stats = answer; }, [](caf::error&) {});
  return stats;
}

// "<connection> mux" of a mux report, back to the connection's name.
std::string connection_of(const actors::mux_report& mux) { return mux.name.substr(0, mux.name.rfind(" mux")); }

bool is_mux_client(const config::config& config, const std::string& connection) {
  for (const auto& entry : config.cluster_connections)
    if (entry.name == connection)
      return entry.remote.type == config::connection_type::mux_client;
  return false;
}

// Brings the supervisor's figures, and its mux connections', into their families before each scrape.
void watch_supervisor(caf::actor_system& system, const config::config& config, actors::supervisor_actor supervisor,
                      std::shared_ptr<const actors::translation_setup> translation, metrics::proxy_metrics& metrics) {
  metrics.before_scrape([&system, config, supervisor, translation, &metrics] {
    if (translation) {
      metrics.actors.live_of("translator").Set(static_cast<double>(translation->translators()));
      metrics.actors.live_of("schema").Set(static_cast<double>(translation->schema_actors().size()));
    }
    auto report = report_of(system, supervisor);
    metrics.actors.live_of("supervisor").Set(report ? 1 : 0);
    if (!report)
      return;
    metrics.actors.mailbox_of("supervisor").Set(static_cast<double>(report->mailbox_depth));
    std::size_t listeners_live = 0, listener_mail = 0;
    for (const auto& endpoint : report->endpoints) {
      if (endpoint.given_up)
        continue;
      ++listeners_live;
      if (auto stats = listener_stats_of(system, endpoint.listener))
        listener_mail += stats->mailbox_depth;
    }
    metrics.actors.live_of("listener").Set(static_cast<double>(listeners_live));
    metrics.actors.mailbox_of("listener").Set(static_cast<double>(listener_mail));
    // Each endpoint has an upstream actor of its own.
    metrics.actors.live_of("upstream").Set(static_cast<double>(report->endpoints.size()));
    // What the supervisor counts of its children, per kind; mux_session restarts are counted below.
    std::map<std::string_view, std::pair<std::uint64_t, std::uint64_t>> by_kind;  // restarts, failures
    for (const auto& child : report->children) {
      auto& counts = by_kind[actors::kind_label(child.kind)];
      counts.first += child.restarts;
      counts.second += child.failures;
    }
    for (const auto& [kind, counts] : by_kind) {
      metrics::actor_metrics::raise_to(metrics.actors.restarts_of(kind), counts.first);
      metrics::actor_metrics::raise_to(metrics.actors.failures_of(kind), counts.second);
    }
    std::size_t connections = 0, sessions = 0, streams = 0, redials = 0, connection_mail = 0, session_mail = 0;
    for (const auto& mux : report->mux) {
      auto view = debug::look_at(system, mux);
      if (!view.connection)
        continue;
      auto name = connection_of(mux);
      metrics.mux.record(name, is_mux_client(config, name), *view.connection, view.live_streams());
      if (view.group)
        metrics.mux.record_group(name, *view.group, view.outbound ? view.outbound->forwarded : 0);
      ++connections;
      sessions += view.connection->sessions.size();
      streams += view.live_streams();
      redials += view.connection->redials;  // each re-dial starts a new session actor
      connection_mail += view.connection->mailbox_depth;
      for (const auto& session : view.sessions)
        session_mail += session.mailbox_depth;
    }
    metrics.actors.mailbox_of("mux_connection").Set(static_cast<double>(connection_mail));
    metrics.actors.mailbox_of("mux_session").Set(static_cast<double>(session_mail));
    metrics::actor_metrics::raise_to(metrics.actors.restarts_of("mux_session"), redials);
    metrics.actors.live_of("mux_connection").Set(static_cast<double>(connections));
    metrics.actors.live_of("mux_session").Set(static_cast<double>(sessions));
    metrics.actors.live_of("mux_stream").Set(static_cast<double>(streams));
  });
}

// A mux side's readiness, from its mux connection: a mux-client needs a live session (or, in a group, a
// peer instance with one); a mux-server needs room for another session under muxCount.
mux_readiness mux_sides_of(caf::actor_system& system, actors::supervisor_actor supervisor) {
  return [&system, supervisor](const config::cluster_connection& connection) -> std::shared_ptr<health::readiness> {
    bool client = connection.remote.type == config::connection_type::mux_client;
    auto capacity = static_cast<std::size_t>(connection.remote.mux_count);
    auto name = connection.name + " mux";
    auto address = connection.remote.mux_address->addr.to_string();
    return health::readiness_from([&system, supervisor, client, capacity, name, address] {
      using verdict = health::readiness::verdict;
      auto report = report_of(system, supervisor);
      const actors::mux_report* mux = nullptr;
      if (report)
        for (const auto& entry : report->mux)
          if (entry.name == name)
            mux = &entry;
      if (!mux)
        return verdict{false, name + ": the proxy does not report this mux connection"};
      auto view = debug::look_at(system, *mux, false);
      if (!view.connection)
        return verdict{false, name + ": the mux connection does not answer"};
      const auto& stats = *view.connection;
      // In a group, an instance without a session of its own carries traffic through a peer that has one.
      if (client && stats.sessions_live == 0 && view.group && !view.group->carriers.empty())
        return verdict{true, {}};
      if (client && stats.sessions_live == 0)
        return verdict{false, name + ": no live session to " + address + " (" + std::to_string(stats.sessions_pending) +
                                  " dialing, " + std::to_string(stats.sessions_failed) + " dials failed so far)"};
      if (!client && stats.sessions_live >= capacity)
        return verdict{false, name + ": all " + std::to_string(capacity) + " sessions of muxCount on " + address +
                                  " are taken; another waits until one ends"};
      return verdict{true, {}};
    });
  };
}

// A side's readiness, and also not ready once the supervisor gave up on a child that the calls
// going to that side need: the listener "<connection> inbound" for the local side, "<connection>
// outbound" for the remote one, its upstream, the mux connection, the schema its translator waits
// for. A supervisor that does not answer leaves the verdict to `side`.
std::shared_ptr<health::readiness> unless_given_up(caf::actor_system& system, actors::supervisor_actor supervisor,
                                                   std::string listener_name, std::shared_ptr<health::readiness> side) {
  return health::readiness_from([&system, supervisor, listener_name, side] {
    if (auto report = report_of(system, supervisor))
      for (const auto& child : report->children)
        if (child.given_up && std::find(child.serves.begin(), child.serves.end(), listener_name) != child.serves.end())
          return health::readiness::verdict{false, child.name + ": the " + std::string(actors::kind_words(child.kind)) +
                                                       " failed more often than its restart budget "
                                                       "allows and is not restarted again"};
    return side->check();
  });
}

}  // namespace

log_setup log_settings(const config::config& config, std::optional<log::level> command_line) {
  log_setup setup;
  setup.defaults.max_lines_per_second = default_lines_per_second;
  setup.defaults = settings_from(config.logging, setup.defaults);
  if (command_line)
    setup.defaults.minimum = *command_line;
  for (const auto& [component, logging] : config.log_configs)
    setup.components[component] = settings_from(logging, setup.defaults);
  return setup;
}

int operations::health_port(const std::string& name) const {
  auto found = health.find(name);
  return found == health.end() ? 0 : found->second->port();
}

std::shared_ptr<health::readiness> side_readiness(const config::cluster_connection& connection, bool local_side,
                                                  const mux_readiness& mux_sides) {
  // Validated config: the local side is tcp, so a mux side is the remote one.
  const auto& side = local_side ? connection.local : connection.remote;
  if (side.type == config::connection_type::tcp)
    return health::channel_readiness(*side.tcp_client, local_side ? "the local frontend" : "the remote side");
  return mux_sides(connection);
}

std::variant<operations, std::string> start_operations(caf::actor_system& system, const config::config& config,
                                                       actors::supervisor_actor supervisor,
                                                       std::shared_ptr<metrics::proxy_metrics> metrics,
                                                       operations_options options) {
  operations result;
  std::string problems;
  if (!options.mux_sides)
    options.mux_sides = mux_sides_of(system, supervisor);
  result.metrics = std::move(metrics);
  if (config.metrics_listen_address && result.metrics) {
    result.metrics->declare(config);
    watch_supervisor(system, config, supervisor, options.translation, *result.metrics);
    auto served = metrics::serve_metrics(*config.metrics_listen_address, result.metrics);
    if (auto* problem = std::get_if<std::string>(&served)) {
      problems += *problem + "\n";
    } else {
      result.exposer = std::move(std::get<0>(served));
      auto ports = result.exposer->GetListeningPorts();
      result.metrics_port = ports.empty() ? 0 : ports.front();
    }
  }
  for (const auto& connection : config.cluster_connections) {
    for (bool local_side : {true, false}) {
      const auto& check = local_side ? connection.local_health_check : connection.remote_health_check;
      if (!check)
        continue;
      auto name = connection.name + (local_side ? " local" : " remote");
      auto listener_name = connection.name + (local_side ? " inbound" : " outbound");
      auto readiness =
          unless_given_up(system, supervisor, listener_name, side_readiness(connection, local_side, options.mux_sides));
      auto served = health::serve_health(check->listen_address, readiness, "health " + name);
      if (auto* problem = std::get_if<std::string>(&served))
        problems += *problem + "\n";
      else
        result.health.emplace(name, std::move(std::get<0>(served)));
    }
  }
  if (config.pprof_address) {
    auto inspected = std::make_shared<debug::inspection>();
    inspected->config = config;
    inspected->system = &system;
    inspected->supervisor = supervisor;
    inspected->metrics = result.metrics;
    inspected->translation = options.translation;
    inspected->sections = std::move(options.debug_sections);
    result.inspected = inspected;
    auto served = debug::serve_debug(*config.pprof_address, inspected);
    if (auto* problem = std::get_if<std::string>(&served))
      problems += *problem + "\n";
    else
      result.debug = std::move(std::get<0>(served));
  }
  if (!problems.empty()) {
    problems.pop_back();
    return problems;
  }
  return result;
}

}  // namespace s2s::app
