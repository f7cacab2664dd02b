// Namespace names: a one-to-one map between local and remote names, applied in either direction.
#include "translation/namespace_translator.hpp"

namespace s2s::translation {

result<namespace_translator> namespace_translator::create(const std::vector<config::namespace_mapping>& mappings) {
  namespace_translator translator;
  for (std::size_t i = 0; i < mappings.size(); ++i) {
    const auto& m = mappings[i];
    std::string where = "namespaceTranslation.mappings[" + std::to_string(i) + "]";
    if (m.local.empty() || m.remote.empty()) {
      return result<namespace_translator>::failure(where + " needs both a local and a remote name");
    }
    if (!translator.to_remote_.emplace(m.local, m.remote).second) {
      return result<namespace_translator>::failure(where + ": local name '" + m.local +
                                                   "' is mapped twice; mappings must be one-to-one");
    }
    if (!translator.to_local_.emplace(m.remote, m.local).second) {
      return result<namespace_translator>::failure(where + ": remote name '" + m.remote +
                                                   "' is mapped twice; mappings must be one-to-one");
    }
  }
  return translator;
}

}  // namespace s2s::translation
