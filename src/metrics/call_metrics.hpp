// The call families (started, handled, duration, messages, replication streams), and the call
// observer that feeds them from the call actors of one listener.
#pragma once

#include <chrono>
#include <cstdint>

#include <memory>
#include <string>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "actors/call/call.hpp"
#include "metrics/actor_metrics.hpp"

namespace s2s::metrics {

// Labels: connection (the cluster connection's name), direction ("outbound": the local Temporal
// calls out; "inbound": the remote side calls in), grpc_service, grpc_method, grpc_code, and
// side ("server": the proxy's server toward the caller; "client": toward the upstream).
struct call_metrics {
  explicit call_metrics(prometheus::Registry& registry);

  prometheus::Family<prometheus::Counter>& started;            // s2s_proxy_grpc_calls_started_total
  prometheus::Family<prometheus::Counter>& handled;            // s2s_proxy_grpc_calls_handled_total (+grpc_code)
  prometheus::Family<prometheus::Histogram>& duration;         // s2s_proxy_grpc_call_duration_seconds
  prometheus::Family<prometheus::Counter>& messages_received;  // s2s_proxy_grpc_messages_received_total (+side)
  prometheus::Family<prometheus::Counter>& messages_sent;      // s2s_proxy_grpc_messages_sent_total (+side)
  // AdminService/StreamWorkflowReplicationMessages streams, per connection and direction.
  prometheus::Family<prometheus::Gauge>& replication_streams_active;    // s2s_proxy_replication_streams_active
  prometheus::Family<prometheus::Counter>& replication_streams_opened;  // s2s_proxy_replication_streams_opened_total
  prometheus::Family<prometheus::Counter>&
      replication_streams_closed;  // s2s_proxy_replication_streams_closed_total (+grpc_code)
};

// Latency buckets in seconds, from sub-millisecond unary calls to long replication streams.
const prometheus::Histogram::BucketBoundaries& call_duration_buckets();

// Distinct methods one observer labels by name; calls of further methods count as "other", so
// a caller inventing method names cannot grow the metrics without bound.
inline constexpr std::size_t max_labelled_methods = 512;

// A call adds its message counts to the shared counters every `message_batch` messages, and at the first message
// `message_lag` or more after it last did (and when it ends): a quiet replication stream, one acknowledgement a
// second, shows each message within about a second instead of every 64th.
inline constexpr std::uint32_t message_batch = 64;
inline constexpr std::chrono::milliseconds message_lag{1000};

// The clock the message counts are flushed by; steady_clock's unless a test gives its own.
using metrics_clock = std::chrono::steady_clock::time_point (*)();

// The observer for the calls of the listener named `endpoint_name` ("<connection> outbound" or
// "<connection> inbound"). Both metric sets must outlive every call it watches.
std::shared_ptr<actors::call_observer> make_call_observer(call_metrics& calls, actor_metrics& actors,
                                                          std::string_view endpoint_name,
                                                          metrics_clock clock = &std::chrono::steady_clock::now);

}  // namespace s2s::metrics
