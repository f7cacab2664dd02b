// Typed reads from a YAML tree that know their key path and record problems instead of throwing.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/internal.hpp"

namespace s2s::config::detail {

// A value in the file with the key path that leads to it. An absent key reads as a null node.
struct located {
  YAML::Node node;
  std::string path;
  position at;  // where the key (or sequence item) is written

  bool absent() const { return !node.IsDefined() || node.IsNull(); }
};

struct field {
  std::string key;
  located value;
};

// The keys present in one YAML mapping.
class mapping {
 public:
  mapping(located self, std::vector<field> fields) : self_(std::move(self)), fields_(std::move(fields)) {}

  // The value under key; a null node placed where the mapping is written when the key is not there.
  located operator[](std::string_view key) const;
  // has: written with a value; written: the key is there, even with nothing after it.
  bool has(std::string_view key) const { return !(*this)[key].absent(); }
  bool written(std::string_view key) const;
  const located& self() const { return self_; }
  const std::vector<field>& fields() const { return fields_; }

 private:
  located self_;
  std::vector<field> fields_;
};

class yaml_reader {
 public:
  explicit yaml_reader(read_result& into) : result_(into) {}

  located root(const YAML::Node& document) const;

  // A mapping whose keys must all be in known_keys; a repeated key is a problem too.
  // An absent value reads as an empty mapping.
  mapping open_map(const located& value, std::initializer_list<std::string_view> known_keys);
  // A mapping with free-form keys (logConfigs, proxyAddresses).
  mapping open_any_map(const located& value);
  // Sequence items; an absent value reads as no items.
  std::vector<located> open_sequence(const located& value);

  // Each returns nullopt for an absent value, and also for a wrong one after recording why.
  std::optional<std::string> text(const located& value);
  std::optional<bool> flag(const located& value);
  std::optional<std::int64_t> integer(const located& value, std::int64_t minimum, std::int64_t maximum);
  std::optional<double> number(const located& value);
  std::optional<address> address_value(const located& value);
  std::optional<std::vector<std::string>> texts(const located& value);

  // Records "missing required key" unless the key is present; true when it is.
  bool require(const mapping& map, std::string_view key);

  void problem(const located& value, std::string message);
  // Nothing below path is checked by the second stage.
  void leave_unchecked(const std::string& path) { result_.unchecked.insert(path); }

 private:
  mapping open(const located& value, const std::initializer_list<std::string_view>* known_keys);
  // The scalar text when value is a plain (unquoted, untagged) scalar, after recording a problem otherwise.
  std::optional<std::string> plain_scalar(const located& value, std::string_view expected);

  read_result& result_;
};

}  // namespace s2s::config::detail
