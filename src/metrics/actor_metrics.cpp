// The actor families: live actors, messages processed, failures and restarts, per actor kind.
#include "metrics/actor_metrics.hpp"

namespace s2s::metrics {

actor_metrics::actor_metrics(prometheus::Registry& registry)
    : live(prometheus::BuildGauge()
               .Name("s2s_proxy_actors_live")
               .Help("Actors running now, per kind")
               .Register(registry)),
      messages_processed(prometheus::BuildCounter()
                             .Name("s2s_proxy_actor_messages_processed_total")
                             .Help("Messages handled by actors, per kind (counted as each actor ends)")
                             .Register(registry)),
      failures(prometheus::BuildCounter()
                   .Name("s2s_proxy_actor_failures_total")
                   .Help("Actors that ended abnormally, and listener restarts that failed, per kind")
                   .Register(registry)),
      restarts(prometheus::BuildCounter()
                   .Name("s2s_proxy_actor_restarts_total")
                   .Help("Actors restarted by their supervisor (restarts that took), per kind")
                   .Register(registry)),
      mailbox_depth(prometheus::BuildGauge()
                        .Name("s2s_proxy_actor_mailbox_depth")
                        .Help("Messages waiting in the mailboxes of the long-lived actors of a kind, as each "
                              "reported when asked at the scrape")
                        .Register(registry)) {
  for (auto kind : actor_kinds) {
    live_of(kind);
    processed_of(kind);
    failures_of(kind);
    restarts_of(kind);
  }
  for (auto kind : mailbox_kinds)
    mailbox_of(kind);
}

prometheus::Gauge& actor_metrics::live_of(std::string_view kind) { return live.Add({{"kind", std::string(kind)}}); }
prometheus::Counter& actor_metrics::processed_of(std::string_view kind) {
  return messages_processed.Add({{"kind", std::string(kind)}});
}
prometheus::Counter& actor_metrics::failures_of(std::string_view kind) {
  return failures.Add({{"kind", std::string(kind)}});
}
prometheus::Counter& actor_metrics::restarts_of(std::string_view kind) {
  return restarts.Add({{"kind", std::string(kind)}});
}

prometheus::Gauge& actor_metrics::mailbox_of(std::string_view kind) {
  return mailbox_depth.Add({{"kind", std::string(kind)}});
}

void actor_metrics::raise_to(prometheus::Counter& counter, std::uint64_t total) {
  auto now = counter.Value();
  if (static_cast<double>(total) > now)
    counter.Increment(static_cast<double>(total) - now);
}

}  // namespace s2s::metrics
