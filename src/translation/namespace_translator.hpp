// Namespace names: a one-to-one map between local and remote names, applied in either direction.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "translation/direction.hpp"
#include "translation/schema.hpp"
#include "translation/status.hpp"

namespace s2s::translation {

// Request metadata whose value is a namespace name: the routing header the Go SDK (and Temporal's API proxy
// helpers) set on every call that names a namespace, which gateways and Temporal Cloud route and authorize by,
// and the server's caller-name (a namespace name, or "system"), which it sends along on cross-cluster calls.
inline constexpr std::string_view namespace_routing_header = "temporal-namespace";
inline constexpr std::array<std::string_view, 2> namespace_headers = {namespace_routing_header, "caller-name"};
constexpr bool is_namespace_header(std::string_view key) {
  for (std::string_view header : namespace_headers)
    if (key == header)
      return true;
  return false;
}

class namespace_translator {
 public:
  // From validated mappings: one-to-one, without empty names (config::parse refuses others).
  static namespace_translator create(const std::vector<config::namespace_mapping>& mappings);

  // The name on the other side, or nullopt when `name` is not mapped (it then passes unchanged).
  std::optional<std::string_view> translate(std::string_view name, direction dir) const {
    const auto& names = dir == direction::local_to_remote ? to_remote_ : to_local_;
    auto it = names.find(name);
    if (it == names.end())
      return std::nullopt;
    return std::string_view(it->second);
  }
  // The local name a message travelling in `dir` calls `name` by.
  std::string_view local_name(std::string_view name, direction dir) const {
    if (dir == direction::local_to_remote)
      return name;
    auto other = translate(name, dir);
    return other ? *other : name;
  }
  // Whether a message travelling in `dir` names, by `name`, the other side's spelling of a mapping: a remote
  // caller naming a namespace by its local name (a name that does not exist for that side).
  bool names_other_side(std::string_view name, direction dir) const {
    return !translate(name, dir) && translate(name, reverse(dir));
  }
  // Every mapped name a message travelling in `dir` may carry, with what it becomes.
  const string_map<std::string>& names(direction dir) const {
    return dir == direction::local_to_remote ? to_remote_ : to_local_;
  }
  bool empty() const { return to_remote_.empty(); }

 private:
  string_map<std::string> to_remote_;
  string_map<std::string> to_local_;
};

}  // namespace s2s::translation
