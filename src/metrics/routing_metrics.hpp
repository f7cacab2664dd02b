// The routing families (shardCount.mode routing): the streams each hub holds open, the tasks it routed between
// shards and the acks it forwarded to the sending cluster; and the observer that feeds them.
#pragma once

#include <memory>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "actors/routing_hub.hpp"

namespace s2s::metrics {

// Labels: connection, side (where the receiving cluster's streams arrive: outbound or inbound), and role (target:
// a stream the receiving cluster opened and the proxy ends; source: one the proxy opened to the sending cluster).
struct routing_metrics {
  explicit routing_metrics(prometheus::Registry& registry);

  // The observer the hubs report to; the families must outlive it.
  std::shared_ptr<actors::routing_observer> observer();

  prometheus::Family<prometheus::Gauge>& streams_open;  // s2s_proxy_routing_streams_open{connection,side,role,shard}
  prometheus::Family<prometheus::Counter>&
      tasks_routed;  // s2s_proxy_routing_tasks_routed_total{connection,side,source_shard,target_shard}
  prometheus::Family<prometheus::Counter>&
      acks_forwarded;  // s2s_proxy_routing_acks_forwarded_total{connection,side,source_shard}
};

}  // namespace s2s::metrics
