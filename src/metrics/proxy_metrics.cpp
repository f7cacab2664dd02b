// Every metric family of the proxy in one registry, and the /metrics endpoint that serves them.
#include "metrics/proxy_metrics.hpp"

#include <exception>

namespace s2s::metrics {

proxy_metrics::proxy_metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      calls(*registry_),
      actors(*registry_),
      translation(*registry_),
      mux(*registry_),
      log(*registry_) {
  before_scrape([this] { log.refresh(); });
}

std::shared_ptr<actors::call_observer> proxy_metrics::observe_calls(std::string_view endpoint_name) {
  return make_call_observer(calls, actors, endpoint_name);
}

void proxy_metrics::declare(const config::config& config) {
  for (const auto& connection : config.cluster_connections) {
    translation.declare(connection.name);
    mux.declare(connection.name);
  }
}

void proxy_metrics::before_scrape(std::function<void()> refresh) {
  std::lock_guard guard(refresh_mutex_);
  refreshers_.push_back(std::move(refresh));
}

void proxy_metrics::refresh() const {
  std::lock_guard guard(refresh_mutex_);
  for (const auto& refresher : refreshers_)
    refresher();
}

std::vector<prometheus::MetricFamily> proxy_metrics::Collect() const {
  refresh();
  return registry_->Collect();
}

std::variant<std::unique_ptr<prometheus::Exposer>, std::string> serve_metrics(
    const config::address& address, const std::shared_ptr<proxy_metrics>& metrics) {
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    // One thread: scrapes are rare, and the proxy's cores are for calls.
    exposer = std::make_unique<prometheus::Exposer>(address.to_string(), 1);
  } catch (const std::exception& e) {
    return "metrics: cannot listen on " + address.to_string() + ": " + e.what();
  }
  exposer->RegisterCollectable(metrics, "/metrics");
  return exposer;
}

}  // namespace s2s::metrics
