// Search attribute names: per namespace, a one-to-one map between local and remote field names.
#include "translation/search_attribute_translator.hpp"

namespace s2s::translation {

search_attribute_translator search_attribute_translator::create(
    const std::vector<config::search_attribute_namespace>& mappings) {
  search_attribute_translator translator;
  for (const auto& ns : mappings) {
    auto scope = static_cast<scope_id>(translator.namespaces_.size());
    if (!ns.namespace_id.empty())
      translator.by_id_.emplace(ns.namespace_id, scope);
    if (!ns.name.empty())
      translator.by_local_name_.emplace(ns.name, scope);
    namespace_fields fields;
    for (const auto& m : ns.mappings) {
      fields.to_remote.emplace(m.local_field_name, m.remote_field_name);
      fields.to_local.emplace(m.remote_field_name, m.local_field_name);
    }
    translator.namespaces_.push_back(std::move(fields));
  }
  return translator;
}

scope_id search_attribute_translator::resolve(std::string_view local_name, std::string_view id) const {
  if (!id.empty()) {
    auto it = by_id_.find(id);
    if (it != by_id_.end())
      return it->second;
  }
  if (!local_name.empty()) {
    auto it = by_local_name_.find(local_name);
    if (it != by_local_name_.end())
      return it->second;
  }
  return no_scope;
}

const string_map<std::string>* search_attribute_translator::fields(scope_id scope, direction dir) const {
  if (scope < 0 || static_cast<std::size_t>(scope) >= namespaces_.size())
    return nullptr;
  const namespace_fields& mapped = namespaces_[static_cast<std::size_t>(scope)];
  return dir == direction::local_to_remote ? &mapped.to_remote : &mapped.to_local;
}

std::optional<std::string_view> search_attribute_translator::translate(scope_id scope, std::string_view field_name,
                                                                       direction dir) const {
  const string_map<std::string>* names = fields(scope, dir);
  if (names == nullptr)
    return std::nullopt;
  auto it = names->find(field_name);
  if (it == names->end())
    return std::nullopt;
  return std::string_view(it->second);
}

}  // namespace s2s::translation
