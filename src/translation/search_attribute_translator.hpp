// Search attribute names: per namespace, a one-to-one map between local and remote field names.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "translation/direction.hpp"
#include "translation/rewriter.hpp"
#include "translation/schema.hpp"
#include "translation/status.hpp"

namespace s2s::translation {

class search_attribute_translator {
 public:
  // From validated mappings: each namespace entry has a name or an id, none listed twice, and within one namespace
  // field names are non-empty and one-to-one (config::parse refuses others).
  static search_attribute_translator create(const std::vector<config::search_attribute_namespace>& mappings);

  // The mapping of the namespace with this id, else with this local name; no_scope when none is configured.
  scope_id resolve(std::string_view local_name, std::string_view id) const;
  // The field name on the other side, or nullopt when the namespace does not map `field_name`.
  std::optional<std::string_view> translate(scope_id scope, std::string_view field_name, direction dir) const;
  // The field names of the namespace `scope` that a message travelling in `dir` may carry; null when none.
  const string_map<std::string>* fields(scope_id scope, direction dir) const;
  bool empty() const { return namespaces_.empty(); }

 private:
  struct namespace_fields {
    string_map<std::string> to_remote;
    string_map<std::string> to_local;
  };
  std::vector<namespace_fields> namespaces_;
  string_map<scope_id> by_id_;
  string_map<scope_id> by_local_name_;
};

}  // namespace s2s::translation
