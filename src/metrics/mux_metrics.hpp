// The mux families: yamux sessions and streams, session errors, reconnects, pings and bytes, per
// cluster connection. Filled from the mux connection actors' reports before each scrape.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "actors/membership.hpp"
#include "actors/mux/connection.hpp"

namespace s2s::metrics {

// Labels: connection (the cluster connection's name); cause (a word from the list): a mux-client's
// dial that never came up (TCP connect or TLS failed), a mux-server's accepted connection whose
// handshake failed, and a session refused because muxCount sessions were already up. The
// mux-server's refusals of connections by every cause (actors::mux_refusal_names) are a family
// of their own.
inline constexpr std::string_view session_error_causes[] = {"dial_failed", "accept_failed", "over_mux_count"};

struct mux_metrics {
  explicit mux_metrics(prometheus::Registry& registry);

  // Creates every series of one cluster connection at 0.
  void declare(const std::string& connection);

  // Brings the series of one mux connection to its report; `live_streams` is the sum over its sessions.
  void record(const std::string& connection, bool client, const actors::mux_connection_stats& stats,
              std::size_t live_streams);

  prometheus::Family<prometheus::Gauge>& sessions_active;    // s2s_proxy_mux_sessions_active{connection}
  prometheus::Family<prometheus::Counter>& sessions_opened;  // s2s_proxy_mux_sessions_opened_total{connection}
  prometheus::Family<prometheus::Counter>& sessions_closed;  // s2s_proxy_mux_sessions_closed_total{connection}
  prometheus::Family<prometheus::Counter>& session_errors;   // s2s_proxy_mux_session_errors_total{connection,cause}
  prometheus::Family<prometheus::Counter>&
      connections_refused;  // s2s_proxy_mux_connections_refused_total{connection,cause}
  prometheus::Family<prometheus::Gauge>& connections_waiting;  // s2s_proxy_mux_connections_waiting{connection}
  prometheus::Family<prometheus::Counter>& reconnects;         // s2s_proxy_mux_reconnects_total{connection}
  prometheus::Family<prometheus::Gauge>& streams_active;       // s2s_proxy_mux_streams_active{connection}
  prometheus::Family<prometheus::Gauge>& ping_round_trip;      // s2s_proxy_mux_ping_round_trip_seconds{connection}
  prometheus::Family<prometheus::Counter>& ping_round_trips;  // s2s_proxy_mux_ping_round_trip_seconds_total{connection}
  prometheus::Family<prometheus::Counter>& pings_answered;    // s2s_proxy_mux_pings_answered_total{connection}
  prometheus::Family<prometheus::Counter>& bytes_sent;        // s2s_proxy_mux_bytes_sent_total{connection}
  prometheus::Family<prometheus::Counter>& bytes_received;    // s2s_proxy_mux_bytes_received_total{connection}

  // With memberlist enabled: brings the group series of one connection to its member's view and to the
  // calls its mux upstream forwarded to peers.
  void record_group(const std::string& connection, const actors::member_view& group, std::uint64_t forwarded);

  prometheus::Family<prometheus::Gauge>& group_peers;        // s2s_proxy_group_peers{connection,state}
  prometheus::Family<prometheus::Gauge>& group_carriers;     // s2s_proxy_group_carriers{connection}
  prometheus::Family<prometheus::Gauge>& group_notices;      // s2s_proxy_group_notices{connection}
  prometheus::Family<prometheus::Counter>& group_forwarded;  // s2s_proxy_group_forwarded_calls_total{connection}
};

}  // namespace s2s::metrics
