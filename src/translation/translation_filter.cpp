// The translation filter: namespace names, search attribute names and UTF-8 repair, applied on the wire.
#include "translation/translation_filter.hpp"

#include "translation/error_translation.hpp"
#include "translation/utf8.hpp"
#include "translation/wire.hpp"

namespace s2s::translation {
namespace {

constexpr std::string_view namespace_not_found_type = "temporal.api.errordetails.v1.NamespaceNotFoundFailure";

// Requests from the remote side name namespaces by their remote names only.
bool refuses_local_names(const message_context& context) {
  return context.arrived_on == side::inbound && context.is_request;
}

}  // namespace

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
      if (refuse_other_side && unknown_name.empty() && filter_.names_.names_other_side(value, dir_)) {
        unknown_name = std::string(value);
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
  bool refuse_other_side = false;
  std::string unknown_name;  // the first name of the other side's spelling, when refuse_other_side

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
  if (!plans)
    return result<std::unique_ptr<translation_filter>>::failure(plans.error());
  return std::unique_ptr<translation_filter>(
      new translation_filter(std::move(types), std::move(names), std::move(search_attributes), std::move(*plans)));
}

translation_filter::translation_filter(std::shared_ptr<const schema> types, namespace_translator names,
                                       search_attribute_translator search_attributes, plan_set plans)
    : schema_(std::move(types)),
      names_(std::move(names)),
      search_attributes_(std::move(search_attributes)),
      plans_(std::move(plans)) {
  if (const auto* failure = schema_->find_message(namespace_not_found_type)) {
    if (const auto* field = failure->FindFieldByName("namespace")) {
      not_found_namespace_field_ = static_cast<std::uint32_t>(field->number());
    }
  }
  if (search_attributes_.empty())
    return;
  for (const google::protobuf::Descriptor* type : schema_->message_types()) {
    scope_fields fields = find_scope_fields(type);
    if (!fields.empty())
      request_scopes_.emplace(type, std::move(fields));
  }
}

bool translation_filter::wants(const message_context& context) const {
  if (context.type == nullptr)
    return false;
  if (context.is_request && request_scopes_.count(context.type) != 0)
    return true;
  return plans_.find(context.type) != nullptr;
}

filter_result translation_filter::apply(const message_context& context, std::string& bytes) const {
  if (context.type == nullptr)
    return filter_result::unchanged();
  leaves leaf(*this, context.dir);
  leaf.refuse_other_side = refuses_local_names(context);
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
      if (context.call != nullptr)
        context.call->search_attribute_scope = scope;
    }
  }
  const message_plan* plan = plans_.find(context.type);
  if (plan == nullptr)
    return filter_result::unchanged();
  bool changed = false;
  status outcome = rewrite_message(plans_, *plan, bytes, leaf, scope, changed);
  if (!outcome.ok())
    return filter_result::refused(outcome.code, describe(outcome.message));
  if (!leaf.unknown_name.empty())
    return not_found(leaf.unknown_name, context);
  filter_result done = changed ? filter_result::changed() : filter_result::unchanged();
  done.counts = leaf.counts;
  return done;
}

filter_result translation_filter::not_found(std::string_view name, const message_context& context) const {
  std::string message =
      "namespace '" + std::string(name) + "' is not found (method " + std::string(context.method) + ")";
  std::string details;
  if (not_found_namespace_field_ != 0) {
    std::string failure;
    wire::append_tag(failure, not_found_namespace_field_, wire::wire_type::length_delimited);
    wire::append_varint(failure, name.size());
    failure.append(name);
    details =
        encode_status_details(static_cast<int>(status_code::not_found), message, namespace_not_found_type, failure);
  }
  return filter_result::refused(status_code::not_found, std::move(message), std::move(details));
}

filter_result translation_filter::apply_header(const message_context& context, std::string_view key,
                                               std::string& value) const {
  if (names_.empty())
    return filter_result::unchanged();
  if (key == namespace_routing_header && refuses_local_names(context) && names_.names_other_side(value, context.dir)) {
    return not_found(value, context);
  }
  auto other = names_.translate(value, context.dir);
  if (!other || *other == value)
    return filter_result::unchanged();
  value.assign(*other);
  filter_result done = filter_result::changed();
  done.counts.namespaces = 1;
  return done;
}

filter_result translation_filter::apply_status(const message_context& context, std::string& message,
                                               std::string& details) const {
  if (!wants_status())
    return filter_result::unchanged();
  scope_id scope = context.call != nullptr ? context.call->search_attribute_scope : no_scope;
  std::vector<const string_map<std::string>*> maps = {&names_.names(context.dir),
                                                      search_attributes_.fields(scope, context.dir)};
  // Names in texts are counted with the namespaces, whichever kind they are.
  std::uint32_t text_names = 0;
  text_rewrite text = [&](std::string_view original, std::string& out) {
    std::size_t replaced = replace_names_in_text(original, maps, out);
    text_names += static_cast<std::uint32_t>(replaced);
    return replaced;
  };
  filter_result done;
  std::string new_message;
  if (text(message, new_message) != 0) {
    message.swap(new_message);
    done.what = filter_result::outcome::changed;
  }
  leaves leaf(*this, context.dir);
  if (!details.empty()) {
    bool changed = false;
    status outcome = rewrite_status_details(details, *schema_, plans_, leaf, scope, text, changed);
    if (!outcome.ok()) {
      done = filter_result::refused(outcome.code, "cannot translate the error details of " +
                                                      std::string(context.method) + ": " + outcome.message);
    } else if (changed) {
      done.what = filter_result::outcome::changed;
    }
  }
  done.counts = leaf.counts;
  done.counts.namespaces += text_names;
  return done;
}

}  // namespace s2s::translation
