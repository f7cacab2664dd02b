// The narrow interface every translator, ACL check and override implements: one filter over one message.
#pragma once

#include <google/protobuf/descriptor.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "translation/direction.hpp"
#include "translation/rewriter.hpp"
#include "translation/status.hpp"

namespace s2s::translation {

// What the messages of one call share: the namespace the request named, for responses that name none.
struct call_state {
  scope_id search_attribute_scope = no_scope;
};

struct message_context {
  std::string_view method;                             // "/pkg.Service/Method"
  const google::protobuf::Descriptor* type = nullptr;  // the message's type; nullptr when the schema lacks the method
  side arrived_on = side::outbound;
  direction dir = direction::local_to_remote;
  bool is_request = true;
  call_state* call = nullptr;  // may be null: then nothing is remembered between messages
};

struct translation_counts {
  std::uint32_t namespaces = 0;
  std::uint32_t search_attributes = 0;
  std::uint32_t utf8_repairs = 0;

  translation_counts& operator+=(const translation_counts& other) {
    namespaces += other.namespaces;
    search_attributes += other.search_attributes;
    utf8_repairs += other.utf8_repairs;
    return *this;
  }
};

struct filter_result {
  enum class outcome { unchanged, changed, refused };

  outcome what = outcome::unchanged;
  status refusal;  // set when refused: the status the call ends with
  translation_counts counts;

  static filter_result unchanged() { return {}; }
  static filter_result changed() { return {outcome::changed, {}, {}}; }
  static filter_result refused(status_code code, std::string message, std::string details = {}) {
    return {outcome::refused, {code, std::move(message), std::move(details)}, {}};
  }
  bool is_refused() const { return what == outcome::refused; }
  bool is_changed() const { return what == outcome::changed; }
};

class message_filter {
 public:
  virtual ~message_filter() = default;
  virtual std::string_view name() const = 0;
  // May rewrite `bytes`; never keeps references to them. Safe to call from many threads at once.
  virtual filter_result apply(const message_context& context, std::string& bytes) const = 0;
  // Whether apply may read or change a message of this context (method, type, request or response); when no
  // filter wants it, the message is forwarded as the same bytes without being flattened. Depends on nothing
  // else, so it is asked once per call and direction.
  virtual bool wants(const message_context& context) const { return true; }

  // A request metadata entry naming a namespace (is_namespace_header): may rewrite `value`. `context` is the
  // request's.
  virtual filter_result apply_header(const message_context& context, std::string_view key, std::string& value) const {
    return filter_result::unchanged();
  }
  virtual bool wants_headers() const { return false; }
  // The error status the upstream ended the call with; it travels as the responses do (`context` is a
  // response's). May rewrite its message and its details (grpc-status-details-bin, empty when absent).
  virtual filter_result apply_status(const message_context& context, std::string& message, std::string& details) const {
    return filter_result::unchanged();
  }
  virtual bool wants_status() const { return false; }
};

}  // namespace s2s::translation
