// Access control (aclPolicy): which admin methods and namespaces the remote side may reach through this proxy.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "translation/filter.hpp"
#include "translation/namespace_translator.hpp"
#include "translation/plan.hpp"

namespace s2s::translation {

// allowedNamespaces holds local names. An entry that is the remote name of a mapping, and the local name of
// none, stands for that mapping's local name, so either spelling of a mapped namespace allows it.
class acl_filter : public message_filter {
 public:
  static result<std::unique_ptr<acl_filter>> create(const config::acl_policy& policy,
                                                    std::shared_ptr<const schema> types, namespace_translator names);

  // The refusal of a whole call by its method, decided before any message is read; nullopt = allowed.
  std::optional<status> check_method(std::string_view method) const;

  std::string_view name() const override { return "acl"; }
  // Refuses a request whose method is refused or that names a namespace outside allowedNamespaces; runs after
  // the request's translation, so names are the local ones, and refusals name them as the caller did.
  // Drops from a response listing namespaces (ListNamespaces) those outside allowedNamespaces; runs before the
  // response's translation.
  filter_result apply(const message_context& context, std::string& bytes) const override;
  bool wants(const message_context& context) const override;
  // The temporal-namespace header, like a namespace field of the request.
  filter_result apply_header(const message_context& context, std::string_view key, std::string& value) const override;
  bool wants_headers() const override { return allowed_namespaces_.has_value(); }

 private:
  class namespace_check;
  // A repeated field of a response whose elements are, or directly hold, a NamespaceInfo.
  struct namespace_list {
    std::uint32_t field = 0;
    std::uint32_t info_field = 0;  // the element's NamespaceInfo field; 0: the element is one
    std::uint32_t name_field = 0;  // NamespaceInfo.name
  };

  acl_filter(const config::acl_policy& policy, std::shared_ptr<const schema> types, plan_set namespace_plans,
             namespace_translator names);
  bool allowed(std::string_view local_name) const;
  filter_result refused_namespace(std::string_view local_name, std::string_view method) const;
  filter_result filter_listed(const std::vector<namespace_list>& lists, std::string& bytes) const;

  std::shared_ptr<const schema> schema_;
  namespace_translator names_;
  std::optional<string_map<bool>> allowed_admin_methods_;
  std::optional<string_map<bool>> allowed_namespaces_;  // local names
  plan_set namespace_plans_;
  std::unordered_map<const google::protobuf::Descriptor*, std::vector<namespace_list>> namespace_lists_;
};

}  // namespace s2s::translation
