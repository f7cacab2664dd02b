// Access control (aclPolicy): which admin methods and namespaces the remote side may reach through this proxy.
#include "translation/acl.hpp"

#include <array>

#include "translation/wire.hpp"

namespace s2s::translation {
namespace {

constexpr std::string_view admin_service = "temporal.server.api.adminservice.v1.AdminService";
constexpr std::string_view workflow_service = "temporal.api.workflowservice.v1.WorkflowService";
// Namespace lifecycle stays with each cluster's own operators while a policy guards the proxy.
constexpr std::array<std::string_view, 2> refused_workflow_methods = {"RegisterNamespace", "DeprecateNamespace"};

constexpr std::string_view namespace_info_type = "temporal.api.namespace.v1.NamespaceInfo";

std::optional<string_map<bool>> to_set(const std::optional<std::vector<std::string>>& names) {
  if (!names)
    return std::nullopt;
  string_map<bool> set;
  for (const auto& name : *names)
    set.emplace(name, true);
  return set;
}

// allowedNamespaces in local names: a local name of a mapping is itself; a remote name of a mapping (and local
// name of none) is that mapping's local name; an unmapped name is a local name.
std::optional<string_map<bool>> to_local_set(const std::optional<std::vector<std::string>>& names,
                                             const namespace_translator& mappings) {
  if (!names)
    return std::nullopt;
  string_map<bool> set;
  for (const auto& name : *names) {
    auto local = mappings.translate(name, direction::remote_to_local);
    bool is_local_of_mapping = mappings.translate(name, direction::local_to_remote).has_value();
    set.emplace(local && !is_local_of_mapping ? std::string(*local) : name, true);
  }
  return set;
}

// The string field `number` of a message's bytes (the last occurrence wins); empty when absent or malformed.
std::string_view string_field(std::string_view bytes, std::uint32_t number) {
  wire::reader in(bytes.data(), bytes.data() + bytes.size(), bytes.data());
  std::string_view found;
  while (!in.at_end()) {
    wire::field f;
    if (!in.read(f))
      return {};
    if (f.number == number && f.type == wire::wire_type::length_delimited)
      found = f.payload();
  }
  return found;
}

// "/pkg.Service/Method" → ("pkg.Service", "Method"); both empty when the path has another shape.
std::pair<std::string_view, std::string_view> split_method(std::string_view path) {
  if (path.empty() || path.front() != '/')
    return {};
  path.remove_prefix(1);
  auto slash = path.find('/');
  if (slash == std::string_view::npos)
    return {};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

std::string short_service(std::string_view service) {
  auto dot = service.rfind('.');
  return std::string(dot == std::string_view::npos ? service : service.substr(dot + 1));
}

}  // namespace

// Collects the first namespace name outside the allowlist; changes nothing.
class acl_filter::namespace_check : public leaf_rewriter {
 public:
  explicit namespace_check(const acl_filter& acl) : acl_(acl) {}

  scope_id resolve_scope(std::string_view, std::string_view) override { return no_scope; }
  bool rewrite(const field_step&, std::string_view value, scope_id, std::string&) override {
    if (!refused && !value.empty() && !acl_.allowed(value))
      refused = std::string(value);
    return false;
  }

  std::optional<std::string> refused;

 private:
  const acl_filter& acl_;
};

result<std::unique_ptr<acl_filter>> acl_filter::create(const config::acl_policy& policy,
                                                       std::shared_ptr<const schema> types,
                                                       namespace_translator names) {
  plan_features features;
  features.namespace_names = policy.allowed_namespaces.has_value();
  // Names inside replicated history are the history's content, not namespaces the request acts on.
  features.history_blobs = false;
  auto plans = plan_set::compile(*types, features);
  if (!plans)
    return result<std::unique_ptr<acl_filter>>::failure(plans.error());
  return std::unique_ptr<acl_filter>(new acl_filter(policy, std::move(types), std::move(*plans), std::move(names)));
}

acl_filter::acl_filter(const config::acl_policy& policy, std::shared_ptr<const schema> types, plan_set namespace_plans,
                       namespace_translator names)
    : schema_(std::move(types)),
      names_(std::move(names)),
      allowed_admin_methods_(to_set(policy.allowed_admin_methods)),
      allowed_namespaces_(to_local_set(policy.allowed_namespaces, names_)),
      namespace_plans_(std::move(namespace_plans)) {
  if (!allowed_namespaces_)
    return;
  const google::protobuf::Descriptor* info = schema_->find_message(namespace_info_type);
  const google::protobuf::FieldDescriptor* name = info == nullptr ? nullptr : info->FindFieldByName("name");
  if (name == nullptr)
    return;
  for (const google::protobuf::Descriptor* type : schema_->message_types()) {
    std::vector<namespace_list> lists;
    for (int i = 0; i < type->field_count(); ++i) {
      const google::protobuf::FieldDescriptor* field = type->field(i);
      if (!field->is_repeated() || field->is_map() || field->message_type() == nullptr)
        continue;
      const google::protobuf::Descriptor* element = field->message_type();
      namespace_list list{static_cast<std::uint32_t>(field->number()), 0, static_cast<std::uint32_t>(name->number())};
      if (element != info) {
        for (int j = 0; j < element->field_count() && list.info_field == 0; ++j) {
          const google::protobuf::FieldDescriptor* inner = element->field(j);
          if (!inner->is_repeated() && inner->message_type() == info) {
            list.info_field = static_cast<std::uint32_t>(inner->number());
          }
        }
        if (list.info_field == 0)
          continue;
      }
      lists.push_back(list);
    }
    if (!lists.empty())
      namespace_lists_.emplace(type, std::move(lists));
  }
}

bool acl_filter::allowed(std::string_view local_name) const {
  return !allowed_namespaces_ || allowed_namespaces_->find(local_name) != allowed_namespaces_->end();
}

filter_result acl_filter::refused_namespace(std::string_view local_name, std::string_view method) const {
  // The caller, on the remote side, named it by its remote name when it has one.
  auto remote = names_.translate(local_name, direction::local_to_remote);
  return filter_result::refused(status_code::permission_denied,
                                "namespace '" + std::string(remote ? *remote : local_name) +
                                    "' is not in aclPolicy.allowedNamespaces (method " + std::string(method) + ")");
}

std::optional<status> acl_filter::check_method(std::string_view method) const {
  auto [service, name] = split_method(method);
  if (service == admin_service && allowed_admin_methods_ &&
      allowed_admin_methods_->find(name) == allowed_admin_methods_->end()) {
    return status{status_code::permission_denied, "method " + short_service(service) + "/" + std::string(name) +
                                                      " is not in aclPolicy.allowedMethods.adminService"};
  }
  if (service == workflow_service) {
    for (std::string_view refused : refused_workflow_methods) {
      if (name == refused) {
        return status{status_code::permission_denied,
                      "method " + short_service(service) + "/" + std::string(name) +
                          " is refused while aclPolicy is set: namespaces are registered and deprecated on "
                          "each cluster directly"};
      }
    }
  }
  return std::nullopt;
}

bool acl_filter::wants(const message_context& context) const {
  if (!context.is_request)
    return context.type != nullptr && namespace_lists_.count(context.type) != 0;
  if (check_method(context.method))
    return true;
  return allowed_namespaces_ && context.type != nullptr && namespace_plans_.find(context.type) != nullptr;
}

filter_result acl_filter::apply(const message_context& context, std::string& bytes) const {
  if (!context.is_request) {
    auto lists = context.type == nullptr ? namespace_lists_.end() : namespace_lists_.find(context.type);
    return lists == namespace_lists_.end() ? filter_result::unchanged() : filter_listed(lists->second, bytes);
  }
  if (auto refused = check_method(context.method)) {
    return filter_result::refused(refused->code, std::move(refused->message));
  }
  if (!allowed_namespaces_ || context.type == nullptr)
    return filter_result::unchanged();
  const message_plan* plan = namespace_plans_.find(context.type);
  if (plan == nullptr)
    return filter_result::unchanged();
  namespace_check check(*this);
  bool changed = false;
  status outcome = rewrite_message(namespace_plans_, *plan, bytes, check, no_scope, changed);
  if (!outcome.ok()) {
    return filter_result::refused(outcome.code, "cannot check the namespaces of the request of " +
                                                    std::string(context.method) + ": " + outcome.message);
  }
  if (check.refused)
    return refused_namespace(*check.refused, context.method);
  return filter_result::unchanged();
}

filter_result acl_filter::apply_header(const message_context& context, std::string_view key, std::string& value) const {
  if (key != namespace_routing_header || value.empty() || allowed(value))
    return filter_result::unchanged();
  return refused_namespace(value, context.method);
}

filter_result acl_filter::filter_listed(const std::vector<namespace_list>& lists, std::string& bytes) const {
  std::string kept;
  bool dropped = false;
  wire::reader in(bytes.data(), bytes.data() + bytes.size(), bytes.data());
  while (!in.at_end()) {
    wire::field f;
    if (!in.read(f)) {
      return filter_result::refused(status_code::invalid_argument,
                                    "cannot check the namespaces listed in a response: " + in.error());
    }
    const namespace_list* list = nullptr;
    for (const auto& candidate : lists) {
      if (candidate.field == f.number && f.type == wire::wire_type::length_delimited)
        list = &candidate;
    }
    if (list != nullptr) {
      std::string_view info = list->info_field == 0 ? f.payload() : string_field(f.payload(), list->info_field);
      std::string_view name = string_field(info, list->name_field);
      if (!name.empty() && !allowed(name)) {
        dropped = true;
        continue;
      }
    }
    kept.append(f.begin, f.end);
  }
  if (!dropped)
    return filter_result::unchanged();
  bytes.swap(kept);
  return filter_result::changed();
}

}  // namespace s2s::translation
