// The actor families: live actors, messages processed, failures and restarts, per actor kind.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace s2s::metrics {

// Every kind of actor the proxy runs; each is exported from the start, at 0 until it runs.
inline constexpr std::string_view actor_kinds[] = {"supervisor", "listener",       "call",
                                                   "upstream",   "mux_connection", "mux_session",
                                                   "mux_stream", "translator",     "schema"};

// The kinds whose mailbox depth is exported: the long-lived actors, which report it when the
// scrape asks for their figures. Call actors, which mostly run on the thread that has news for
// them, and the actors that answer no stats request, are not among them.
inline constexpr std::string_view mailbox_kinds[] = {"supervisor", "listener", "mux_connection", "mux_session"};

struct actor_metrics {
  explicit actor_metrics(prometheus::Registry& registry);

  prometheus::Family<prometheus::Gauge>& live;                  // s2s_proxy_actors_live{kind}
  prometheus::Family<prometheus::Counter>& messages_processed;  // s2s_proxy_actor_messages_processed_total{kind}
  prometheus::Family<prometheus::Counter>& failures;            // s2s_proxy_actor_failures_total{kind}
  prometheus::Family<prometheus::Counter>& restarts;            // s2s_proxy_actor_restarts_total{kind}
  prometheus::Family<prometheus::Gauge>& mailbox_depth;         // s2s_proxy_actor_mailbox_depth{kind}

  prometheus::Gauge& live_of(std::string_view kind);
  prometheus::Counter& processed_of(std::string_view kind);
  prometheus::Counter& failures_of(std::string_view kind);
  prometheus::Counter& restarts_of(std::string_view kind);
  prometheus::Gauge& mailbox_of(std::string_view kind);

  // For figures that an actor reports as running totals (the supervisor's restart count):
  // moves the counter up to `total`.
  static void raise_to(prometheus::Counter& counter, std::uint64_t total);
};

}  // namespace s2s::metrics
