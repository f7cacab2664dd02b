// The translation families: messages translated, refused and failed, and time spent, per direction.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace s2s::metrics {

// Labels: connection, direction (as for calls), and where named, grpc_method and result
// ("rewritten": something changed; "unchanged"; "refused": ACL or a translation error ended the
// call) or reason (a short fixed word, never a value from the message).
struct translation_metrics {
  explicit translation_metrics(prometheus::Registry& registry);

  prometheus::Family<prometheus::Counter>& messages;     // s2s_proxy_translation_messages_total{connection,direction,grpc_method,result}
  prometheus::Family<prometheus::Counter>& errors;       // s2s_proxy_translation_errors_total{connection,direction,reason}
  prometheus::Family<prometheus::Counter>& acl_denied;   // s2s_proxy_acl_denied_total{connection,direction,reason}
  prometheus::Family<prometheus::Histogram>& duration;   // s2s_proxy_translation_duration_seconds{connection,direction}
  prometheus::Family<prometheus::Counter>& utf8_repairs; // s2s_proxy_utf8_repairs_total{connection,direction}
};

// Buckets in seconds for the time one message spends being translated.
const prometheus::Histogram::BucketBoundaries& translation_duration_buckets();

}  // namespace s2s::metrics
