// Namespace names: a one-to-one map between local and remote names, applied in either direction.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "translation/direction.hpp"
#include "translation/schema.hpp"
#include "translation/status.hpp"

namespace s2s::translation {

class namespace_translator {
 public:
  // Refuses mappings that are not one-to-one (a duplicate local or remote name) or have an empty name.
  static result<namespace_translator> create(const std::vector<config::namespace_mapping>& mappings);

  // The name on the other side, or nullopt when `name` is not mapped (it then passes unchanged).
  std::optional<std::string_view> translate(std::string_view name, direction dir) const {
    const auto& names = dir == direction::local_to_remote ? to_remote_ : to_local_;
    auto it = names.find(name);
    if (it == names.end()) return std::nullopt;
    return std::string_view(it->second);
  }
  // The local name a message travelling in `dir` calls `name` by.
  std::string_view local_name(std::string_view name, direction dir) const {
    if (dir == direction::local_to_remote) return name;
    auto other = translate(name, dir);
    return other ? *other : name;
  }
  bool empty() const { return to_remote_.empty(); }

 private:
  string_map<std::string> to_remote_;
  string_map<std::string> to_local_;
};

}  // namespace s2s::translation
