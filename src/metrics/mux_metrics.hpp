// The mux families: yamux sessions and streams, reconnects, pings and bytes, per cluster connection.
#pragma once

#include <string>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace s2s::metrics {

// Labels: connection (the cluster connection's name); reason (a short fixed word from the list).
inline constexpr std::string_view session_end_reasons[] = {"eof", "go_away", "ping_timeout", "tls",
                                                           "protocol", "shutdown"};
struct mux_metrics {
  explicit mux_metrics(prometheus::Registry& registry);

  // Creates every series of one cluster connection at 0, so they are listed before the mux
  // code feeds them.
  void declare(const std::string& connection);

  prometheus::Family<prometheus::Gauge>& sessions_active;      // s2s_proxy_mux_sessions_active{connection}
  prometheus::Family<prometheus::Counter>& sessions_opened;    // s2s_proxy_mux_sessions_opened_total{connection}
  prometheus::Family<prometheus::Counter>& sessions_closed;    // s2s_proxy_mux_sessions_closed_total{connection,reason}
  prometheus::Family<prometheus::Counter>& reconnects;         // s2s_proxy_mux_reconnects_total{connection}
  prometheus::Family<prometheus::Gauge>& streams_active;       // s2s_proxy_mux_streams_active{connection}
  prometheus::Family<prometheus::Counter>& streams_opened;     // s2s_proxy_mux_streams_opened_total{connection}
  prometheus::Family<prometheus::Counter>& stream_resets;      // s2s_proxy_mux_stream_resets_total{connection}
  prometheus::Family<prometheus::Histogram>& ping_latency;     // s2s_proxy_mux_ping_latency_seconds{connection}
  prometheus::Family<prometheus::Counter>& bytes_sent;         // s2s_proxy_mux_bytes_sent_total{connection}
  prometheus::Family<prometheus::Counter>& bytes_received;     // s2s_proxy_mux_bytes_received_total{connection}
};

// Buckets in seconds for a keepalive ping's round trip.
const prometheus::Histogram::BucketBoundaries& ping_latency_buckets();

}  // namespace s2s::metrics
