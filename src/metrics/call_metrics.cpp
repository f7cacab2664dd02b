// The call families, and the call observer that feeds them from the call actors of one listener.
#include "metrics/call_metrics.hpp"
#include "rpc/status_names.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <unordered_map>

namespace s2s::metrics {

call_metrics::call_metrics(prometheus::Registry& registry)
    : started(prometheus::BuildCounter()
                  .Name("s2s_proxy_grpc_calls_started_total")
                  .Help("gRPC calls the proxy accepted")
                  .Register(registry)),
      handled(prometheus::BuildCounter()
                  .Name("s2s_proxy_grpc_calls_handled_total")
                  .Help("gRPC calls the proxy finished, by the status code the caller got")
                  .Register(registry)),
      duration(prometheus::BuildHistogram()
                   .Name("s2s_proxy_grpc_call_duration_seconds")
                   .Help("Time from accepting a call to giving the caller its status")
                   .Register(registry)),
      messages_received(prometheus::BuildCounter()
                            .Name("s2s_proxy_grpc_messages_received_total")
                            .Help("Messages read: side=server from callers, side=client from upstreams")
                            .Register(registry)),
      messages_sent(prometheus::BuildCounter()
                        .Name("s2s_proxy_grpc_messages_sent_total")
                        .Help("Messages written: side=server to callers, side=client to upstreams")
                        .Register(registry)),
      replication_streams_active(prometheus::BuildGauge()
                                     .Name("s2s_proxy_replication_streams_active")
                                     .Help("StreamWorkflowReplicationMessages calls open now")
                                     .Register(registry)),
      replication_streams_opened(prometheus::BuildCounter()
                                     .Name("s2s_proxy_replication_streams_opened_total")
                                     .Help("StreamWorkflowReplicationMessages calls accepted")
                                     .Register(registry)),
      replication_streams_closed(prometheus::BuildCounter()
                                     .Name("s2s_proxy_replication_streams_closed_total")
                                     .Help("StreamWorkflowReplicationMessages calls ended, by status code")
                                     .Register(registry)) {}

const prometheus::Histogram::BucketBoundaries& call_duration_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
  return buckets;
}

namespace {

constexpr std::string_view replication_method = "StreamWorkflowReplicationMessages";
constexpr std::size_t status_codes = rpc::status_code_count;

std::string_view code_name(int code) { return rpc::status_code_name(code); }

// The metric instances of one method, looked up once per method rather than once per call.
struct method_figures {
  prometheus::Labels labels;
  prometheus::Counter* started = nullptr;
  prometheus::Histogram* duration = nullptr;
  prometheus::Counter* received[2] = {};  // [server, client]
  prometheus::Counter* sent[2] = {};
  std::array<std::atomic<prometheus::Counter*>, status_codes> handled{};
  bool replication = false;
};

class listener_figures : public actors::call_observer, public std::enable_shared_from_this<listener_figures> {
 public:
  listener_figures(call_metrics& calls, actor_metrics& actors, std::string connection, std::string direction,
                   metrics_clock clock)
      : calls_(calls),
        clock_(clock),
        live_calls_(actors.live_of("call")),
        processed_(actors.processed_of("call")),
        failures_(actors.failures_of("call")),
        connection_(std::move(connection)),
        direction_(std::move(direction)) {
    prometheus::Labels streams{{"connection", connection_}, {"direction", direction_}};
    streams_active_ = &calls_.replication_streams_active.Add(streams);
    streams_opened_ = &calls_.replication_streams_opened.Add(streams);
  }

  std::unique_ptr<actors::call_probe> call_started(const actors::call_info& info) override;

  method_figures& figures_for(std::string_view method) {
    std::lock_guard guard(mutex_);
    auto found = methods_.find(std::string(method));
    if (found != methods_.end())
      return *found->second;
    std::string key(method);
    if (methods_.size() >= max_labelled_methods) {
      key = "other";
      if (auto other = methods_.find(key); other != methods_.end())
        return *other->second;
    }
    auto figures = std::make_unique<method_figures>();
    // "/package.Service/Method"
    std::string service = "other", name = "other";
    if (key != "other") {
      auto slash = key.rfind('/');
      service = slash == std::string::npos
                    ? ""
                    : key.substr(key.starts_with('/') ? 1 : 0, slash - (key.starts_with('/') ? 1 : 0));
      name = slash == std::string::npos ? key : key.substr(slash + 1);
    }
    figures->labels = {
        {"connection", connection_}, {"direction", direction_}, {"grpc_service", service}, {"grpc_method", name}};
    figures->replication = name == replication_method;
    figures->started = &calls_.started.Add(figures->labels);
    figures->duration = &calls_.duration.Add(figures->labels, call_duration_buckets());
    const char* sides[2] = {"server", "client"};
    for (int side = 0; side < 2; ++side) {
      auto labels = figures->labels;
      labels["side"] = sides[side];
      figures->received[side] = &calls_.messages_received.Add(labels);
      figures->sent[side] = &calls_.messages_sent.Add(labels);
    }
    return *methods_.emplace(std::move(key), std::move(figures)).first->second;
  }

  prometheus::Counter& handled(method_figures& figures, int code) {
    auto index = code >= 0 && code < static_cast<int>(status_codes) ? code : 2;
    if (auto* counter = figures.handled[index].load(std::memory_order_acquire))
      return *counter;
    auto labels = figures.labels;
    labels["grpc_code"] = code_name(index);
    auto* counter = &calls_.handled.Add(labels);  // the family returns the same one every time
    figures.handled[index].store(counter, std::memory_order_release);
    return *counter;
  }

  prometheus::Counter& streams_closed(int code) {
    return calls_.replication_streams_closed.Add(
        {{"connection", connection_}, {"direction", direction_}, {"grpc_code", std::string(code_name(code))}});
  }

  call_metrics& calls_;
  metrics_clock clock_;
  prometheus::Gauge& live_calls_;
  prometheus::Counter& processed_;
  prometheus::Counter& failures_;
  prometheus::Gauge* streams_active_ = nullptr;
  prometheus::Counter* streams_opened_ = nullptr;

 private:
  std::string connection_;
  std::string direction_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::unique_ptr<method_figures>> methods_;
};

class call_figures final : public actors::call_probe {
 public:
  call_figures(std::shared_ptr<listener_figures> listener, method_figures& method)
      : listener_(std::move(listener)), method_(method), began_(listener_->clock_()), flushed_at_(began_) {
    listener_->live_calls_.Increment();
    method_.started->Increment();
    if (method_.replication) {
      listener_->streams_active_->Increment();
      listener_->streams_opened_->Increment();
    }
  }

  ~call_figures() override {
    flush_messages();
    listener_->live_calls_.Decrement();
  }

  // Counted here and added to the shared counters in batches: a stream's messages would
  // otherwise contend on the same counters from every thread.
  void message(actors::call_hop hop) override {
    ++unflushed_[static_cast<int>(hop)];
    ++unflushed_total_;
    auto now = listener_->clock_();
    if (unflushed_total_ >= message_batch || now - flushed_at_ >= message_lag) {
      flush_messages();
      flushed_at_ = now;
    }
  }

  void ended(const grpc::Status& status) override {
    flush_messages();
    std::chrono::duration<double> took = listener_->clock_() - began_;
    int code = static_cast<int>(status.error_code());
    listener_->handled(method_, code).Increment();
    method_.duration->Observe(took.count());
    if (method_.replication) {
      listener_->streams_active_->Decrement();
      listener_->streams_closed(code).Increment();
    }
  }

  void actor_ended(std::uint64_t messages_processed, bool failed) override {
    listener_->processed_.Increment(static_cast<double>(messages_processed));
    if (failed)
      listener_->failures_.Increment();
  }

 private:
  void flush_messages() {
    using actors::call_hop;
    prometheus::Counter* counters[] = {method_.received[0], method_.sent[1], method_.received[1],
                                       method_.sent[0]};  // in call_hop's order
    static_assert(static_cast<int>(call_hop::from_caller) == 0 && static_cast<int>(call_hop::to_upstream) == 1 &&
                  static_cast<int>(call_hop::from_upstream) == 2 && static_cast<int>(call_hop::to_caller) == 3);
    for (int hop = 0; hop < 4; ++hop) {
      if (unflushed_[hop] > 0)
        counters[hop]->Increment(unflushed_[hop]);
      unflushed_[hop] = 0;
    }
    unflushed_total_ = 0;
  }

  std::shared_ptr<listener_figures> listener_;
  method_figures& method_;
  std::chrono::steady_clock::time_point began_;
  std::chrono::steady_clock::time_point flushed_at_;
  std::uint32_t unflushed_[4] = {};
  std::uint32_t unflushed_total_ = 0;
};

std::unique_ptr<actors::call_probe> listener_figures::call_started(const actors::call_info& info) {
  return std::make_unique<call_figures>(shared_from_this(), figures_for(info.method));
}

}  // namespace

std::shared_ptr<actors::call_observer> make_call_observer(call_metrics& calls, actor_metrics& actors,
                                                          std::string_view endpoint_name, metrics_clock clock) {
  // "<connection> <direction>"; a name without a space is all connection.
  auto space = endpoint_name.rfind(' ');
  std::string connection(space == std::string_view::npos ? endpoint_name : endpoint_name.substr(0, space));
  std::string direction(space == std::string_view::npos ? "" : endpoint_name.substr(space + 1));
  return std::make_shared<listener_figures>(calls, actors, std::move(connection), std::move(direction), clock);
}

}  // namespace s2s::metrics
