// Every metric family of the proxy in one registry, and the /metrics endpoint that serves them.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include "actors/call/call.hpp"
#include "config/config.hpp"
#include "metrics/actor_metrics.hpp"
#include "metrics/call_metrics.hpp"
#include "metrics/log_metrics.hpp"
#include "metrics/mux_metrics.hpp"
#include "metrics/routing_metrics.hpp"
#include "metrics/translation_metrics.hpp"

namespace s2s::metrics {

// The registry and each component's families. Owners take the families they feed from here.
class proxy_metrics : public prometheus::Collectable {
 public:
  proxy_metrics();

  // The observer for the calls of the listener named `endpoint_name` (see make_call_observer).
  std::shared_ptr<actors::call_observer> observe_calls(std::string_view endpoint_name);

  // Lists every series of each cluster connection that can be named before traffic flows.
  void declare(const config::config& config);

  // Runs before each scrape, for figures kept as running totals elsewhere (restarts held by the
  // supervisor); must return quickly.
  void before_scrape(std::function<void()> refresh);

  // Runs the refreshers now (a scrape does, and so does the debug endpoint).
  void refresh() const;

  // Refreshes, then collects every family.
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::shared_ptr<prometheus::Registry> registry_;

 public:
  call_metrics calls;
  actor_metrics actors;
  translation_metrics translation;
  routing_metrics routing;
  mux_metrics mux;
  log_metrics log;

 private:
  mutable std::mutex refresh_mutex_;
  std::vector<std::function<void()>> refreshers_;
};

// Deletes an exposer without the wait civetweb's accept loop would add: that loop looks for a stop
// only when its poll returns, which with nobody connecting is once every 2 s, so an idle proxy
// with /metrics on took about 2 s to exit. The deleter connects to the port until it is closed.
struct exposer_stopper {
  std::string host;  // the address to connect to: the listening host, or loopback for a wildcard
  void operator()(prometheus::Exposer* exposer) const;
};
using metrics_exposer = std::unique_ptr<prometheus::Exposer, exposer_stopper>;

// Serves GET /metrics in the Prometheus text format on `address` (port 0: any free port; the
// exposer reports it). The string says why it cannot when the address cannot be bound.
std::variant<metrics_exposer, std::string> serve_metrics(const config::address& address,
                                                         const std::shared_ptr<proxy_metrics>& metrics);

}  // namespace s2s::metrics
