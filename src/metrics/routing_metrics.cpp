#include "metrics/routing_metrics.hpp"

#include <string>

namespace s2s::metrics {
namespace {

class routing_figures final : public actors::routing_observer {
 public:
  explicit routing_figures(routing_metrics& families) : families_(families) {}

  void stream_changed(const std::string& connection, translation::side side, role kind, std::int32_t shard,
                      int change) override {
    families_.streams_open
        .Add({{"connection", connection},
              {"side", std::string(translation::to_string(side))},
              {"role", kind == role::target ? "target" : "source"},
              {"shard", std::to_string(shard)}})
        .Increment(change);
  }

  void tasks_routed(const std::string& connection, translation::side side, std::int32_t source, std::int32_t target,
                    std::size_t tasks) override {
    if (tasks == 0)
      return;
    families_.tasks_routed
        .Add({{"connection", connection},
              {"side", std::string(translation::to_string(side))},
              {"source_shard", std::to_string(source)},
              {"target_shard", std::to_string(target)}})
        .Increment(static_cast<double>(tasks));
  }

  void ack_forwarded(const std::string& connection, translation::side side, std::int32_t source) override {
    families_.acks_forwarded
        .Add({{"connection", connection},
              {"side", std::string(translation::to_string(side))},
              {"source_shard", std::to_string(source)}})
        .Increment();
  }

 private:
  routing_metrics& families_;
};

}  // namespace

routing_metrics::routing_metrics(prometheus::Registry& registry)
    : streams_open(prometheus::BuildGauge()
                       .Name("s2s_proxy_routing_streams_open")
                       .Help("Replication streams a routing hub holds open, by role (target: opened by the receiving "
                             "cluster and ended by the proxy; source: opened by the proxy) and shard")
                       .Register(registry)),
      tasks_routed(prometheus::BuildCounter()
                       .Name("s2s_proxy_routing_tasks_routed_total")
                       .Help("Replication tasks routed from a source shard to the target shard owning their workflow")
                       .Register(registry)),
      acks_forwarded(prometheus::BuildCounter()
                         .Name("s2s_proxy_routing_acks_forwarded_total")
                         .Help("Acknowledgements (SyncReplicationState) sent to a source shard")
                         .Register(registry)) {}

std::shared_ptr<actors::routing_observer> routing_metrics::observer() {
  return std::make_shared<routing_figures>(*this);
}

}  // namespace s2s::metrics
