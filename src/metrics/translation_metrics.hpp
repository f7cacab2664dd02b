// The translation families: messages translated, what they changed by kind, refusals, errors and
// time spent, per cluster connection, direction and message type; and the observer that feeds them.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "actors/translator.hpp"

namespace s2s::metrics {

// Labels: connection, direction (as for calls), message_type (the full protobuf name of a message
// the schema knows), and where named, result, kind or reason: short fixed words from the lists
// below (reason of an error: the status code it ends the call with, in lower case).
inline constexpr std::string_view translation_results[] = {"rewritten", "unchanged", "refused"};
inline constexpr std::string_view translation_kinds[] = {"namespace", "search_attribute", "utf8_repair"};
inline constexpr std::string_view acl_denial_reasons[] = {"method", "namespace"};

struct translation_metrics {
  explicit translation_metrics(prometheus::Registry& registry);

  // Creates the series of one cluster connection that need no message type, at 0.
  void declare(const std::string& connection);

  // The observer the translators report to; the families must outlive it.
  std::shared_ptr<actors::translation_observer> observer();

  prometheus::Family<prometheus::Counter>&
      messages;  // s2s_proxy_translation_messages_total{connection,direction,message_type,result}
  prometheus::Family<prometheus::Counter>&
      changes;  // s2s_proxy_translation_changes_total{connection,direction,message_type,kind}
  prometheus::Family<prometheus::Counter>&
      errors;  // s2s_proxy_translation_errors_total{connection,direction,message_type,reason}
  prometheus::Family<prometheus::Counter>& acl_denied;  // s2s_proxy_acl_denied_total{connection,direction,reason}
  prometheus::Family<prometheus::Histogram>&
      duration;  // s2s_proxy_translation_duration_seconds{connection,direction,message_type}
  prometheus::Family<prometheus::Counter>&
      streams_mapped;  // s2s_proxy_replication_streams_mapped_total{connection,direction,client_shard,server_shard}
};

// Buckets in seconds for the time one message spends being translated.
const prometheus::Histogram::BucketBoundaries& translation_duration_buckets();

}  // namespace s2s::metrics
