// Search attribute names: per namespace, a one-to-one map between local and remote field names.
#include "translation/search_attribute_translator.hpp"

namespace s2s::translation {

result<search_attribute_translator> search_attribute_translator::create(
    const std::vector<config::search_attribute_namespace>& mappings) {
  using failure = result<search_attribute_translator>;
  search_attribute_translator translator;
  for (std::size_t i = 0; i < mappings.size(); ++i) {
    const auto& ns = mappings[i];
    std::string where = "searchAttributeTranslation.namespaceMappings[" + std::to_string(i) + "]";
    if (ns.name.empty() && ns.namespace_id.empty()) return failure::failure(where + " needs a name or a namespaceId");
    auto scope = static_cast<scope_id>(translator.namespaces_.size());
    if (!ns.namespace_id.empty() && !translator.by_id_.emplace(ns.namespace_id, scope).second) {
      return failure::failure(where + ": namespaceId '" + ns.namespace_id + "' is listed twice");
    }
    if (!ns.name.empty() && !translator.by_local_name_.emplace(ns.name, scope).second) {
      return failure::failure(where + ": namespace '" + ns.name + "' is listed twice");
    }
    namespace_fields fields;
    for (std::size_t j = 0; j < ns.mappings.size(); ++j) {
      const auto& m = ns.mappings[j];
      std::string field_where = where + ".mappings[" + std::to_string(j) + "]";
      if (m.local_field_name.empty() || m.remote_field_name.empty()) {
        return failure::failure(field_where + " needs both localFieldName and remoteFieldName");
      }
      if (!fields.to_remote.emplace(m.local_field_name, m.remote_field_name).second) {
        return failure::failure(field_where + ": localFieldName '" + m.local_field_name + "' is mapped twice");
      }
      if (!fields.to_local.emplace(m.remote_field_name, m.local_field_name).second) {
        return failure::failure(field_where + ": remoteFieldName '" + m.remote_field_name + "' is mapped twice");
      }
    }
    translator.namespaces_.push_back(std::move(fields));
  }
  return translator;
}

scope_id search_attribute_translator::resolve(std::string_view local_name, std::string_view id) const {
  if (!id.empty()) {
    auto it = by_id_.find(id);
    if (it != by_id_.end()) return it->second;
  }
  if (!local_name.empty()) {
    auto it = by_local_name_.find(local_name);
    if (it != by_local_name_.end()) return it->second;
  }
  return no_scope;
}

const string_map<std::string>* search_attribute_translator::fields(scope_id scope, direction dir) const {
  if (scope < 0 || static_cast<std::size_t>(scope) >= namespaces_.size()) return nullptr;
  const namespace_fields& mapped = namespaces_[static_cast<std::size_t>(scope)];
  return dir == direction::local_to_remote ? &mapped.to_remote : &mapped.to_local;
}

std::optional<std::string_view> search_attribute_translator::translate(scope_id scope, std::string_view field_name,
                                                                      direction dir) const {
  const string_map<std::string>* names = fields(scope, dir);
  if (names == nullptr) return std::nullopt;
  auto it = names->find(field_name);
  if (it == names->end()) return std::nullopt;
  return std::string_view(it->second);
}

}  // namespace s2s::translation
