// The translation filter: namespace names, search attribute names and UTF-8 repair, applied on the wire.
#include "translation/translation_filter.hpp"

#include "translation/utf8.hpp"

namespace s2s::translation {

// The translators, seen from the rewriter: one instance per message, counting what it changes.
class translation_filter::leaves : public leaf_rewriter {
 public:
  leaves(const translation_filter& filter, direction dir) : filter_(filter), dir_(dir) {}

  scope_id resolve_scope(std::string_view name, std::string_view id) override {
    return filter_.search_attributes_.resolve(filter_.names_.local_name(name, dir_), id);
  }

  bool rewrite(const field_step& step, std::string_view value, scope_id scope, std::string& out) override {
    if ((step.roles & role_namespace_name) != 0) {
      auto other = filter_.names_.translate(value, dir_);
      if (other && *other != value) {
        out.assign(*other);
        ++counts.namespaces;
        return true;
      }
    }
    if ((step.roles & role_search_attribute_key) != 0) {
      auto other = filter_.search_attributes_.translate(scope, value, dir_);
      if (other && *other != value) {
        out.assign(*other);
        ++counts.search_attributes;
        return true;
      }
    }
    if ((step.roles & role_text) != 0) {
      std::size_t repairs = repair_utf8(value, out);
      counts.utf8_repairs += static_cast<std::uint32_t>(repairs);
      return repairs != 0;
    }
    return false;
  }

  translation_counts counts;

 private:
  const translation_filter& filter_;
  direction dir_;
};

result<std::unique_ptr<translation_filter>> translation_filter::create(std::shared_ptr<const schema> types,
                                                                       namespace_translator names,
                                                                       search_attribute_translator search_attributes,
                                                                       bool repair_utf8) {
  plan_features features{!names.empty(), !search_attributes.empty(), repair_utf8};
  auto plans = plan_set::compile(*types, features);
  if (!plans) return result<std::unique_ptr<translation_filter>>::failure(plans.error());
  return std::unique_ptr<translation_filter>(
      new translation_filter(std::move(types), std::move(names), std::move(search_attributes), std::move(*plans)));
}

translation_filter::translation_filter(std::shared_ptr<const schema> types, namespace_translator names,
                                       search_attribute_translator search_attributes, plan_set plans)
    : schema_(std::move(types)),
      names_(std::move(names)),
      search_attributes_(std::move(search_attributes)),
      plans_(std::move(plans)) {
  if (search_attributes_.empty()) return;
  for (const google::protobuf::Descriptor* type : schema_->message_types()) {
    scope_fields fields = find_scope_fields(type);
    if (!fields.empty()) request_scopes_.emplace(type, std::move(fields));
  }
}

bool translation_filter::wants(const message_context& context) const {
  if (context.type == nullptr) return false;
  if (context.is_request && request_scopes_.count(context.type) != 0) return true;
  return plans_.find(context.type) != nullptr;
}

filter_result translation_filter::apply(const message_context& context, std::string& bytes) const {
  if (context.type == nullptr) return filter_result::unchanged();
  leaves leaf(*this, context.dir);
  scope_id scope = context.call != nullptr ? context.call->search_attribute_scope : no_scope;
  auto describe = [&](const std::string& what) {
    return std::string("cannot translate the ") + (context.is_request ? "request" : "response") + " of " +
           std::string(context.method) + ": " + what;
  };
  if (context.is_request) {
    auto fields = request_scopes_.find(context.type);
    if (fields != request_scopes_.end()) {
      std::string error;
      if (!find_message_scope(bytes, fields->second, leaf, no_scope, scope, error)) {
        return filter_result::refused(status_code::invalid_argument,
                                      describe("malformed " + context.type->full_name() + " " + error));
      }
      if (context.call != nullptr) context.call->search_attribute_scope = scope;
    }
  }
  const message_plan* plan = plans_.find(context.type);
  if (plan == nullptr) return filter_result::unchanged();
  bool changed = false;
  status outcome = rewrite_message(plans_, *plan, bytes, leaf, scope, changed);
  if (!outcome.ok()) return filter_result::refused(outcome.code, describe(outcome.message));
  filter_result done = changed ? filter_result::changed() : filter_result::unchanged();
  done.counts = leaf.counts;
  return done;
}

}  // namespace s2s::translation
