// What operators see of a running proxy, started from the config: logging settings, /metrics,
// each side's /health and /debug/connections.
#include "app/operations.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

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

// Brings the supervisor's figures into the actor families before each scrape.
void watch_supervisor(caf::actor_system& system, actors::supervisor_actor supervisor,
                      metrics::proxy_metrics& metrics) {
  metrics.before_scrape([&system, supervisor, &metrics] {
    caf::scoped_actor self{system};
    self->request(supervisor, std::chrono::seconds(1), actors::stats_atom::value)
        .receive(
            [&](actors::proxy_report& report) {
              metrics.actors.live_of("supervisor").Set(1);
              metrics.actors.live_of("listener").Set(static_cast<double>(report.endpoints.size()));
              // Each endpoint has an upstream actor of its own.
              metrics.actors.live_of("upstream").Set(static_cast<double>(report.endpoints.size()));
              metrics::actor_metrics::raise_to(metrics.actors.restarts_of("listener"),
                                               report.listener_restarts);
            },
            [&](caf::error&) { metrics.actors.live_of("supervisor").Set(0); });
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

std::shared_ptr<health::readiness> side_readiness(const config::cluster_connection& connection,
                                                  bool local_side, const mux_readiness& mux_sides) {
  const auto& side = local_side ? connection.local : connection.remote;
  if (side.type == config::connection_type::tcp && side.tcp_client)
    return health::channel_readiness(*side.tcp_client, local_side ? "the local frontend" : "the remote side");
  if (mux_sides)
    if (auto readiness = mux_sides(connection, local_side))
      return readiness;
  return health::never_ready("the " + std::string(config::to_string(side.type)) +
                             " side does not report readiness in this build");
}

std::variant<operations, std::string> start_operations(caf::actor_system& system,
                                                       const config::config& config,
                                                       actors::supervisor_actor supervisor,
                                                       std::shared_ptr<metrics::proxy_metrics> metrics,
                                                       operations_options options) {
  operations result;
  std::string problems;
  result.metrics = std::move(metrics);
  if (config.metrics_listen_address && result.metrics) {
    result.metrics->declare(config);
    watch_supervisor(system, supervisor, *result.metrics);
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
      auto served = health::serve_health(check->listen_address,
                                         side_readiness(connection, local_side, options.mux_sides),
                                         "health " + name);
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
