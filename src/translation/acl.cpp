// Access control (aclPolicy): which admin methods and namespaces the remote side may reach through this proxy.
#include "translation/acl.hpp"

#include <array>

namespace s2s::translation {
namespace {

constexpr std::string_view admin_service = "temporal.server.api.adminservice.v1.AdminService";
constexpr std::string_view workflow_service = "temporal.api.workflowservice.v1.WorkflowService";
// Namespace lifecycle stays with each cluster's own operators while a policy guards the proxy.
constexpr std::array<std::string_view, 2> refused_workflow_methods = {"RegisterNamespace", "DeprecateNamespace"};

std::optional<string_map<bool>> to_set(const std::optional<std::vector<std::string>>& names) {
  if (!names) return std::nullopt;
  string_map<bool> set;
  for (const auto& name : *names) set.emplace(name, true);
  return set;
}

// "/pkg.Service/Method" → ("pkg.Service", "Method"); both empty when the path has another shape.
std::pair<std::string_view, std::string_view> split_method(std::string_view path) {
  if (path.empty() || path.front() != '/') return {};
  path.remove_prefix(1);
  auto slash = path.find('/');
  if (slash == std::string_view::npos) return {};
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
  explicit namespace_check(const string_map<bool>& allowed) : allowed_(allowed) {}

  scope_id resolve_scope(std::string_view, std::string_view) override { return no_scope; }
  bool rewrite(const field_step&, std::string_view value, scope_id, std::string&) override {
    if (!refused && !value.empty() && allowed_.find(value) == allowed_.end()) refused = std::string(value);
    return false;
  }

  std::optional<std::string> refused;

 private:
  const string_map<bool>& allowed_;
};

result<std::unique_ptr<acl_filter>> acl_filter::create(const config::acl_policy& policy,
                                                       std::shared_ptr<const schema> types) {
  plan_features features;
  features.namespace_names = policy.allowed_namespaces.has_value();
  // Names inside replicated history are the history's content, not namespaces the request acts on.
  features.history_blobs = false;
  auto plans = plan_set::compile(*types, features);
  if (!plans) return result<std::unique_ptr<acl_filter>>::failure(plans.error());
  return std::unique_ptr<acl_filter>(new acl_filter(policy, std::move(types), std::move(*plans)));
}

acl_filter::acl_filter(const config::acl_policy& policy, std::shared_ptr<const schema> types,
                       plan_set namespace_plans)
    : schema_(std::move(types)),
      allowed_admin_methods_(to_set(policy.allowed_admin_methods)),
      allowed_namespaces_(to_set(policy.allowed_namespaces)),
      namespace_plans_(std::move(namespace_plans)) {}

std::optional<status> acl_filter::check_method(std::string_view method) const {
  auto [service, name] = split_method(method);
  if (service == admin_service && allowed_admin_methods_ &&
      allowed_admin_methods_->find(name) == allowed_admin_methods_->end()) {
    return status{status_code::permission_denied,
                  "method " + short_service(service) + "/" + std::string(name) +
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
  if (!context.is_request) return false;
  if (check_method(context.method)) return true;
  return allowed_namespaces_ && context.type != nullptr && namespace_plans_.find(context.type) != nullptr;
}

filter_result acl_filter::apply(const message_context& context, std::string& bytes) const {
  if (!context.is_request) return filter_result::unchanged();
  if (auto refused = check_method(context.method)) {
    return filter_result::refused(refused->code, std::move(refused->message));
  }
  if (!allowed_namespaces_ || context.type == nullptr) return filter_result::unchanged();
  const message_plan* plan = namespace_plans_.find(context.type);
  if (plan == nullptr) return filter_result::unchanged();
  namespace_check check(*allowed_namespaces_);
  bool changed = false;
  status outcome = rewrite_message(namespace_plans_, *plan, bytes, check, no_scope, changed);
  if (!outcome.ok()) {
    return filter_result::refused(outcome.code, "cannot check the namespaces of the request of " +
                                                    std::string(context.method) + ": " + outcome.message);
  }
  if (check.refused) {
    return filter_result::refused(status_code::permission_denied,
                                  "namespace '" + *check.refused + "' is not in aclPolicy.allowedNamespaces (method " +
                                      std::string(context.method) + ")");
  }
  return filter_result::unchanged();
}

}  // namespace s2s::translation
