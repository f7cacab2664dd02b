// The logging family: lines the throttle dropped, per component.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

namespace s2s::metrics {

struct log_metrics {
  explicit log_metrics(prometheus::Registry& registry);

  prometheus::Family<prometheus::Counter>& lines_dropped;  // s2s_proxy_log_lines_dropped_total{component}

  // Brings the family up to the logger's totals (before each scrape).
  void refresh();
};

}  // namespace s2s::metrics
