// The translation families: messages translated, refused and failed, and time spent, per direction.
#include "metrics/translation_metrics.hpp"

namespace s2s::metrics {

translation_metrics::translation_metrics(prometheus::Registry& registry)
    : messages(prometheus::BuildCounter()
                   .Name("s2s_proxy_translation_messages_total")
                   .Help("Messages seen by translation, by result (rewritten, unchanged, refused)")
                   .Register(registry)),
      errors(prometheus::BuildCounter()
                 .Name("s2s_proxy_translation_errors_total")
                 .Help("Messages translation could not process, by reason")
                 .Register(registry)),
      acl_denied(prometheus::BuildCounter()
                     .Name("s2s_proxy_acl_denied_total")
                     .Help("Calls the access policy refused, by reason (method, namespace)")
                     .Register(registry)),
      duration(prometheus::BuildHistogram()
                   .Name("s2s_proxy_translation_duration_seconds")
                   .Help("Time spent translating one message")
                   .Register(registry)),
      utf8_repairs(prometheus::BuildCounter()
                       .Name("s2s_proxy_utf8_repairs_total")
                       .Help("Strings whose invalid UTF-8 was repaired")
                       .Register(registry)) {}

void translation_metrics::declare(const std::string& connection) {
  for (const char* direction : {"outbound", "inbound"}) {
    prometheus::Labels labels{{"connection", connection}, {"direction", direction}};
    for (auto result : translation_results) {
      auto with_result = labels;
      with_result["result"] = std::string(result);
      messages.Add(with_result);
    }
    for (auto reason : translation_error_reasons) {
      auto with_reason = labels;
      with_reason["reason"] = std::string(reason);
      errors.Add(with_reason);
    }
    for (auto reason : acl_denial_reasons) {
      auto with_reason = labels;
      with_reason["reason"] = std::string(reason);
      acl_denied.Add(with_reason);
    }
    duration.Add(labels, translation_duration_buckets());
    utf8_repairs.Add(labels);
  }
}

const prometheus::Histogram::BucketBoundaries& translation_duration_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{
      0.000001, 0.000005, 0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1};
  return buckets;
}

}  // namespace s2s::metrics
