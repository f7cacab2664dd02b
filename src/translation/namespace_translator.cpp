// Namespace names: a one-to-one map between local and remote names, applied in either direction.
#include "translation/namespace_translator.hpp"

namespace s2s::translation {

namespace_translator namespace_translator::create(const std::vector<config::namespace_mapping>& mappings) {
  namespace_translator translator;
  for (const auto& m : mappings) {
    translator.to_remote_.emplace(m.local, m.remote);
    translator.to_local_.emplace(m.remote, m.local);
  }
  return translator;
}

}  // namespace s2s::translation
