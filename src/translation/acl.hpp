// Access control (aclPolicy): which admin methods and namespaces the remote side may reach through this proxy.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "translation/filter.hpp"
#include "translation/plan.hpp"

namespace s2s::translation {

class acl_filter : public message_filter {
 public:
  static result<std::unique_ptr<acl_filter>> create(const config::acl_policy& policy,
                                                    std::shared_ptr<const schema> types);

  // The refusal of a whole call by its method, decided before any message is read; nullopt = allowed.
  std::optional<status> check_method(std::string_view method) const;

  std::string_view name() const override { return "acl"; }
  // Refuses a request whose method is refused or that names a namespace outside allowedNamespaces.
  // Runs after translation, so names are the local ones.
  filter_result apply(const message_context& context, std::string& bytes) const override;
  bool wants(const message_context& context) const override;

 private:
  class namespace_check;

  acl_filter(const config::acl_policy& policy, std::shared_ptr<const schema> types, plan_set namespace_plans);

  std::shared_ptr<const schema> schema_;
  std::optional<string_map<bool>> allowed_admin_methods_;
  std::optional<string_map<bool>> allowed_namespaces_;
  plan_set namespace_plans_;
};

}  // namespace s2s::translation
