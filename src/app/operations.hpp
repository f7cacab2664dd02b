// What operators see of a running proxy, started from the config: logging settings, /metrics,
// each side's /health and /debug/connections.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <prometheus/exposer.h>
#include <caf/fwd.hpp>

#include "actors/supervisor.hpp"
#include "config/config.hpp"
#include "debug/connections.hpp"
#include "health/readiness.hpp"
#include "http/server.hpp"
#include "log/log.hpp"
#include "metrics/proxy_metrics.hpp"

namespace s2s::app {

// The logger's settings from `logging` and `logConfigs`. `command_line` (--level), when given,
// wins over logging.level; throttleMaxRPS 0 means 10 lines per second, as in the Go proxy.
struct log_setup {
  log::settings defaults;
  std::map<std::string, log::settings, std::less<>> components;
};
log_setup log_settings(const config::config& config, std::optional<log::level> command_line);

// Readiness of a connection's mux side, its remote one. Empty: start_operations asks the proxy's mux
// connection (a mux-client is ready with a live session, a mux-server with room for another session
// under muxCount).
using mux_readiness = std::function<std::shared_ptr<health::readiness>(const config::cluster_connection& connection)>;

struct operations_options {
  mux_readiness mux_sides;
  std::vector<debug::section> debug_sections;  // extra parts of /debug/connections
  // The proxy's translators and schema actors (started_proxy::translation), for the actor
  // counts and the schemas in /debug/connections; may be null.
  std::shared_ptr<const actors::translation_setup> translation;
};

// The servers, kept running while this lives.
struct operations {
  std::shared_ptr<metrics::proxy_metrics> metrics;
  metrics::metrics_exposer exposer;  // null without metrics.prometheus
  int metrics_port = 0;
  // Keyed "<connection> local" / "<connection> remote".
  std::map<std::string, std::unique_ptr<http::server>> health;
  std::unique_ptr<http::server> debug;  // null without profiling.pprofAddress
  std::shared_ptr<const debug::inspection> inspected;

  int health_port(const std::string& name) const;
};

// The readiness of one side of a connection: a gRPC channel to its tcpClient on TCP sides, else
// mux_sides, which must be set.
std::shared_ptr<health::readiness> side_readiness(const config::cluster_connection& connection, bool local_side,
                                                  const mux_readiness& mux_sides);

// Starts every server the config asks for. `metrics` is the set the proxy's calls feed (made
// before the proxy, see proxy_metrics::observe_calls). Fails as a whole, naming every address
// that could not be served.
std::variant<operations, std::string> start_operations(caf::actor_system& system, const config::config& config,
                                                       actors::supervisor_actor supervisor,
                                                       std::shared_ptr<metrics::proxy_metrics> metrics,
                                                       operations_options options = {});

}  // namespace s2s::app
