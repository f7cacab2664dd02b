// The translation families: messages translated, what they changed by kind, refusals, errors and
// time spent, per cluster connection, direction and message type; and the observer that feeds them.
#include "metrics/translation_metrics.hpp"

#include <algorithm>
#include <cctype>

namespace s2s::metrics {
namespace {

using translation::filter_result;

prometheus::Labels with(prometheus::Labels labels, const char* key, std::string_view value) {
  labels[key] = std::string(value);
  return labels;
}

// The counters of one message type on one side, looked up once and kept.
class type_figures final : public actors::translation_observer::figures {
 public:
  type_figures(translation_metrics& families, const prometheus::Labels& labels, prometheus::Labels connection)
      : families_(families),
        labels_(labels),
        rewritten_(families.messages.Add(with(labels, "result", "rewritten"))),
        unchanged_(families.messages.Add(with(labels, "result", "unchanged"))),
        refused_(families.messages.Add(with(labels, "result", "refused"))),
        namespaces_(families.changes.Add(with(labels, "kind", "namespace"))),
        search_attributes_(families.changes.Add(with(labels, "kind", "search_attribute"))),
        utf8_repairs_(families.changes.Add(with(labels, "kind", "utf8_repair"))),
        namespace_denied_(families.acl_denied.Add(with(std::move(connection), "reason", "namespace"))),
        duration_(families.duration.Add(labels, translation_duration_buckets())) {}

  void translated(const filter_result& result, std::chrono::nanoseconds took) override {
    duration_.Observe(std::chrono::duration<double>(took).count());
    if (result.counts.namespaces)
      namespaces_.Increment(result.counts.namespaces);
    if (result.counts.search_attributes)
      search_attributes_.Increment(result.counts.search_attributes);
    if (result.counts.utf8_repairs)
      utf8_repairs_.Increment(result.counts.utf8_repairs);
    if (!result.is_refused()) {
      (result.is_changed() ? rewritten_ : unchanged_).Increment();
      return;
    }
    refused_.Increment();
    if (result.refusal.code == translation::status_code::permission_denied) {
      namespace_denied_.Increment();
      return;
    }
    std::string reason(translation::to_string(result.refusal.code));
    std::transform(reason.begin(), reason.end(), reason.begin(), [](unsigned char c) { return std::tolower(c); });
    families_.errors.Add(with(labels_, "reason", reason)).Increment();
  }

 private:
  translation_metrics& families_;
  prometheus::Labels labels_;
  prometheus::Counter& rewritten_;
  prometheus::Counter& unchanged_;
  prometheus::Counter& refused_;
  prometheus::Counter& namespaces_;
  prometheus::Counter& search_attributes_;
  prometheus::Counter& utf8_repairs_;
  prometheus::Counter& namespace_denied_;
  prometheus::Histogram& duration_;
};

class translation_figures final : public actors::translation_observer {
 public:
  explicit translation_figures(translation_metrics& families) : families_(families) {}

  figures& figures_for(const std::string& connection, translation::side arrived_on,
                       std::string_view message_type) override {
    std::string key =
        connection + '\n' + std::string(translation::to_string(arrived_on)) + '\n' + std::string(message_type);
    std::lock_guard guard(mutex_);
    auto& slot = types_[key];
    if (!slot) {
      prometheus::Labels side{{"connection", connection},
                              {"direction", std::string(translation::to_string(arrived_on))}};
      slot = std::make_unique<type_figures>(families_, with(side, "message_type", message_type), side);
    }
    return *slot;
  }

  void method_refused(const std::string& connection, translation::side arrived_on) override {
    families_.acl_denied
        .Add({{"connection", connection},
              {"direction", std::string(translation::to_string(arrived_on))},
              {"reason", "method"}})
        .Increment();
  }

  void stream_mapped(const std::string& connection, translation::side arrived_on,
                     shards::stream_shard_ids real_shards) override {
    families_.streams_mapped
        .Add({{"connection", connection},
              {"direction", std::string(translation::to_string(arrived_on))},
              {"client_shard", std::to_string(real_shards.client)},
              {"server_shard", std::to_string(real_shards.server)}})
        .Increment();
  }

 private:
  translation_metrics& families_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::unique_ptr<type_figures>> types_;
};

}  // namespace

translation_metrics::translation_metrics(prometheus::Registry& registry)
    : messages(prometheus::BuildCounter()
                   .Name("s2s_proxy_translation_messages_total")
                   .Help("Messages run through translation, by message type and result (rewritten, unchanged, refused)")
                   .Register(registry)),
      changes(prometheus::BuildCounter()
                  .Name("s2s_proxy_translation_changes_total")
                  .Help("Names, search attributes and strings translation changed, by kind and message type")
                  .Register(registry)),
      errors(prometheus::BuildCounter()
                 .Name("s2s_proxy_translation_errors_total")
                 .Help("Messages translation refused for a reason other than the access policy, by status")
                 .Register(registry)),
      acl_denied(prometheus::BuildCounter()
                     .Name("s2s_proxy_acl_denied_total")
                     .Help("Calls the access policy refused, by reason (method, namespace)")
                     .Register(registry)),
      duration(prometheus::BuildHistogram()
                   .Name("s2s_proxy_translation_duration_seconds")
                   .Help("Time spent translating one message, by message type")
                   .Register(registry)),
      streams_mapped(prometheus::BuildCounter()
                         .Name("s2s_proxy_replication_streams_mapped_total")
                         .Help("Replication streams whose shard ids shardCount lcm mapped, by the real shards of "
                               "their client and server")
                         .Register(registry)) {}

void translation_metrics::declare(const std::string& connection) {
  for (const char* direction : {"outbound", "inbound"}) {
    prometheus::Labels labels{{"connection", connection}, {"direction", direction}};
    for (auto reason : acl_denial_reasons)
      acl_denied.Add(with(labels, "reason", reason));
  }
}

std::shared_ptr<actors::translation_observer> translation_metrics::observer() {
  return std::make_shared<translation_figures>(*this);
}

const prometheus::Histogram::BucketBoundaries& translation_duration_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{0.000001, 0.000005, 0.00001, 0.00005, 0.0001, 0.0005,
                                                               0.001,    0.005,    0.01,    0.05,    0.1};
  return buckets;
}

}  // namespace s2s::metrics
