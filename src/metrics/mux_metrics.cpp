// The mux families: yamux sessions and streams, reconnects, pings and bytes, per cluster connection.
#include "metrics/mux_metrics.hpp"

namespace s2s::metrics {

mux_metrics::mux_metrics(prometheus::Registry& registry)
    : sessions_active(prometheus::BuildGauge()
                          .Name("s2s_proxy_mux_sessions_active")
                          .Help("yamux sessions up now")
                          .Register(registry)),
      sessions_opened(prometheus::BuildCounter()
                          .Name("s2s_proxy_mux_sessions_opened_total")
                          .Help("yamux sessions established")
                          .Register(registry)),
      sessions_closed(prometheus::BuildCounter()
                          .Name("s2s_proxy_mux_sessions_closed_total")
                          .Help("yamux sessions ended, by reason")
                          .Register(registry)),
      reconnects(prometheus::BuildCounter()
                     .Name("s2s_proxy_mux_reconnects_total")
                     .Help("Dials made again after a session ended or a dial failed")
                     .Register(registry)),
      streams_active(prometheus::BuildGauge()
                         .Name("s2s_proxy_mux_streams_active")
                         .Help("yamux streams open now")
                         .Register(registry)),
      streams_opened(prometheus::BuildCounter()
                         .Name("s2s_proxy_mux_streams_opened_total")
                         .Help("yamux streams opened, by either side")
                         .Register(registry)),
      stream_resets(prometheus::BuildCounter()
                        .Name("s2s_proxy_mux_stream_resets_total")
                        .Help("yamux streams reset")
                        .Register(registry)),
      ping_latency(prometheus::BuildHistogram()
                       .Name("s2s_proxy_mux_ping_latency_seconds")
                       .Help("Round trip of yamux keepalive pings")
                       .Register(registry)),
      bytes_sent(prometheus::BuildCounter()
                     .Name("s2s_proxy_mux_bytes_sent_total")
                     .Help("Bytes written to mux connections, frames included")
                     .Register(registry)),
      bytes_received(prometheus::BuildCounter()
                         .Name("s2s_proxy_mux_bytes_received_total")
                         .Help("Bytes read from mux connections, frames included")
                         .Register(registry)) {}

void mux_metrics::declare(const std::string& connection) {
  prometheus::Labels labels{{"connection", connection}};
  sessions_active.Add(labels);
  sessions_opened.Add(labels);
  for (auto reason : session_end_reasons) {
    auto with_reason = labels;
    with_reason["reason"] = std::string(reason);
    sessions_closed.Add(with_reason);
  }
  reconnects.Add(labels);
  streams_active.Add(labels);
  streams_opened.Add(labels);
  stream_resets.Add(labels);
  ping_latency.Add(labels, ping_latency_buckets());
  bytes_sent.Add(labels);
  bytes_received.Add(labels);
}

const prometheus::Histogram::BucketBoundaries& ping_latency_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{
      0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5};
  return buckets;
}

}  // namespace s2s::metrics
