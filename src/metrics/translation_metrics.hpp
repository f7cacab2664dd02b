// The translation families: messages translated, refused and failed, and time spent, per direction.
#pragma once

#include <string>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace s2s::metrics {

// Labels: connection, direction (as for calls), and where named, result or reason: short fixed
// words from the lists below, never a value taken from a message.
inline constexpr std::string_view translation_results[] = {"rewritten", "unchanged", "refused"};
inline constexpr std::string_view translation_error_reasons[] = {"malformed_message", "unknown_schema",
                                                                 "invalid_value"};
inline constexpr std::string_view acl_denial_reasons[] = {"method", "namespace"};

struct translation_metrics {
  explicit translation_metrics(prometheus::Registry& registry);

  // Creates every series of one cluster connection at 0, so they are listed before the
  // translation code feeds them.
  void declare(const std::string& connection);

  prometheus::Family<prometheus::Counter>& messages;     // s2s_proxy_translation_messages_total{connection,direction,result}
  prometheus::Family<prometheus::Counter>& errors;       // s2s_proxy_translation_errors_total{connection,direction,reason}
  prometheus::Family<prometheus::Counter>& acl_denied;   // s2s_proxy_acl_denied_total{connection,direction,reason}
  prometheus::Family<prometheus::Histogram>& duration;   // s2s_proxy_translation_duration_seconds{connection,direction}
  prometheus::Family<prometheus::Counter>& utf8_repairs; // s2s_proxy_utf8_repairs_total{connection,direction}
};

// Buckets in seconds for the time one message spends being translated.
const prometheus::Histogram::BucketBoundaries& translation_duration_buckets();

}  // namespace s2s::metrics
