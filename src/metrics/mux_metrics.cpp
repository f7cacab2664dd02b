// The mux families: yamux sessions and streams, session errors, reconnects, pings and bytes, per
// cluster connection. Filled from the mux connection actors' reports before each scrape.
#include "metrics/mux_metrics.hpp"

#include <algorithm>

#include "metrics/actor_metrics.hpp"

namespace s2s::metrics {
namespace {

template <typename Builder>
auto& family(Builder builder, prometheus::Registry& registry, const char* name, const char* help) {
  return builder.Name(name).Help(help).Register(registry);
}

prometheus::Labels of(const std::string& connection) { return {{"connection", connection}}; }

}  // namespace

mux_metrics::mux_metrics(prometheus::Registry& registry)
    : sessions_active(
          family(prometheus::BuildGauge(), registry, "s2s_proxy_mux_sessions_active", "yamux sessions up now")),
      sessions_opened(family(prometheus::BuildCounter(), registry, "s2s_proxy_mux_sessions_opened_total",
                             "yamux sessions established (past TCP and TLS)")),
      sessions_closed(family(prometheus::BuildCounter(), registry, "s2s_proxy_mux_sessions_closed_total",
                             "yamux sessions that were up and ended")),
      session_errors(family(prometheus::BuildCounter(), registry, "s2s_proxy_mux_session_errors_total",
                            "Sessions that never came up, by cause (dial_failed, accept_failed, over_mux_count)")),
      connections_refused(family(prometheus::BuildCounter(), registry, "s2s_proxy_mux_connections_refused_total",
                                 "Connections a mux-server closed before or as they became sessions, by cause "
                                 "(hello_timeout, waiting_pool_full, per_source_cap, handshake_pool_full, "
                                 "handshake_failed, over_mux_count, shutting_down)")),
      connections_waiting(family(prometheus::BuildGauge(), registry, "s2s_proxy_mux_connections_waiting",
                                 "Connections a mux-server accepted that have not sent their first TLS bytes yet")),
      reconnects(family(prometheus::BuildCounter(), registry, "s2s_proxy_mux_reconnects_total",
                        "Dials scheduled again after a session ended or a dial failed (mux-client)")),
      streams_active(family(prometheus::BuildGauge(), registry, "s2s_proxy_mux_streams_active",
                            "yamux streams open now, over every session")),
      ping_round_trip(family(prometheus::BuildGauge(), registry, "s2s_proxy_mux_ping_round_trip_seconds",
                             "Round trip of the latest answered keepalive ping")),
      ping_round_trips(family(prometheus::BuildCounter(), registry, "s2s_proxy_mux_ping_round_trip_seconds_total",
                              "Round trips of answered keepalive pings, summed (divide by pings answered)")),
      pings_answered(family(prometheus::BuildCounter(), registry, "s2s_proxy_mux_pings_answered_total",
                            "Keepalive pings that got their reply")),
      bytes_sent(family(prometheus::BuildCounter(), registry, "s2s_proxy_mux_bytes_sent_total",
                        "yamux bytes written to mux connections, frame headers included, before TLS")),
      bytes_received(family(prometheus::BuildCounter(), registry, "s2s_proxy_mux_bytes_received_total",
                            "yamux bytes read from mux connections, frame headers included, after TLS")),
      group_peers(family(prometheus::BuildGauge(), registry, "s2s_proxy_group_peers",
                         "Peer instances of this side's group known to this instance, by state (alive, suspect, "
                         "dead)")),
      group_carriers(family(prometheus::BuildGauge(), registry, "s2s_proxy_group_carriers",
                            "Peer instances that can carry this instance's calls now (alive, with mux sessions)")),
      group_notices(family(prometheus::BuildGauge(), registry, "s2s_proxy_group_notices",
                           "Refusals and warnings the group member keeps (the latest 16; see /debug/connections)")),
      group_forwarded(family(prometheus::BuildCounter(), registry, "s2s_proxy_group_forwarded_calls_total",
                             "Calls sent to a peer instance's outbound listener for want of a mux session of this "
                             "instance")) {}

void mux_metrics::record_group(const std::string& connection, const actors::member_view& group,
                               std::uint64_t forwarded) {
  auto labels = of(connection);
  for (auto state : {cluster::member_state::alive, cluster::member_state::suspect, cluster::member_state::dead}) {
    auto with_state = labels;
    with_state["state"] = std::string(cluster::to_string(state));
    auto count = std::count_if(group.members.begin(), group.members.end(),
                               [state](const cluster::member& peer) { return peer.state == state; });
    group_peers.Add(with_state).Set(static_cast<double>(count));
  }
  group_carriers.Add(labels).Set(static_cast<double>(group.carriers.size()));
  group_notices.Add(labels).Set(static_cast<double>(group.notices.size()));
  actor_metrics::raise_to(group_forwarded.Add(labels), forwarded);
}

void mux_metrics::declare(const std::string& connection) {
  auto labels = of(connection);
  sessions_active.Add(labels);
  sessions_opened.Add(labels);
  sessions_closed.Add(labels);
  for (auto cause : session_error_causes) {
    auto with_cause = labels;
    with_cause["cause"] = std::string(cause);
    session_errors.Add(with_cause);
  }
  for (auto cause : actors::mux_refusal_names) {
    auto with_cause = labels;
    with_cause["cause"] = std::string(cause);
    connections_refused.Add(with_cause);
  }
  connections_waiting.Add(labels);
  reconnects.Add(labels);
  streams_active.Add(labels);
  ping_round_trip.Add(labels);
  ping_round_trips.Add(labels);
  pings_answered.Add(labels);
  bytes_sent.Add(labels);
  bytes_received.Add(labels);
}

void mux_metrics::record(const std::string& connection, bool client, const actors::mux_connection_stats& stats,
                         std::size_t live_streams) {
  auto labels = of(connection);
  auto cause = [&](std::string_view word) {
    auto with_cause = labels;
    with_cause["cause"] = std::string(word);
    return with_cause;
  };
  sessions_active.Add(labels).Set(static_cast<double>(stats.sessions_live));
  actor_metrics::raise_to(sessions_opened.Add(labels), stats.sessions_established);
  actor_metrics::raise_to(sessions_closed.Add(labels), stats.sessions_ended);
  actor_metrics::raise_to(session_errors.Add(cause(client ? "dial_failed" : "accept_failed")), stats.sessions_failed);
  actor_metrics::raise_to(session_errors.Add(cause("over_mux_count")),
                          stats.refusals[actors::mux_refusal::over_mux_count]);
  for (std::size_t i = 0; i < actors::mux_refusal_names.size(); ++i)
    actor_metrics::raise_to(connections_refused.Add(cause(actors::mux_refusal_names[i])), stats.refusals.by_cause[i]);
  connections_waiting.Add(labels).Set(static_cast<double>(stats.connections_waiting));
  actor_metrics::raise_to(reconnects.Add(labels), stats.redials);
  streams_active.Add(labels).Set(static_cast<double>(live_streams));
  if (const auto& traffic = stats.traffic) {
    constexpr double per_second = 1e-9;
    ping_round_trip.Add(labels).Set(static_cast<double>(traffic->last_round_trip_nanoseconds.load()) * per_second);
    auto summed = ping_round_trips.Add(labels).Value();
    auto total = static_cast<double>(traffic->round_trip_nanoseconds.load()) * per_second;
    if (total > summed)
      ping_round_trips.Add(labels).Increment(total - summed);
    actor_metrics::raise_to(pings_answered.Add(labels), traffic->pings_answered.load());
    actor_metrics::raise_to(bytes_sent.Add(labels), traffic->bytes_sent.load());
    actor_metrics::raise_to(bytes_received.Add(labels), traffic->bytes_received.load());
  }
}

}  // namespace s2s::metrics
