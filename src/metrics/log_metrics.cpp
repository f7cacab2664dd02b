// The logging family: lines the throttle dropped, per component.
#include "metrics/log_metrics.hpp"

#include "log/log.hpp"
#include "metrics/actor_metrics.hpp"

namespace s2s::metrics {

log_metrics::log_metrics(prometheus::Registry& registry)
    : lines_dropped(prometheus::BuildCounter()
                        .Name("s2s_proxy_log_lines_dropped_total")
                        .Help("Log lines dropped by throttleMaxRPS, per component")
                        .Register(registry)) {}

void log_metrics::refresh() {
  for (const auto& [component, total] : log::dropped_lines())
    actor_metrics::raise_to(lines_dropped.Add({{"component", component}}), total);
}

}  // namespace s2s::metrics
