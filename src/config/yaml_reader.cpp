// Typed reads from a YAML tree that know their key path and record problems instead of throwing.
#include "config/yaml_reader.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <vector>

namespace s2s::config::detail {
namespace {

position position_of(const YAML::Mark& mark) { return {mark.line + 1, mark.column + 1}; }

bool is_quoted_or_tagged(const YAML::Node& node) {
  // yaml-cpp tags a plain scalar "?"; quoting gives "!", an explicit tag its full name.
  return node.Tag() != "?";
}

std::string describe(const YAML::Node& node) {
  if (node.IsMap())
    return "a mapping";
  if (node.IsSequence())
    return "a list";
  if (is_quoted_or_tagged(node))
    return "the quoted text \"" + node.Scalar() + "\"";
  return "'" + node.Scalar() + "'";
}

// How many single-letter edits, ignoring case, turn written into known: to suggest the key meant.
std::size_t edit_distance(std::string_view written, std::string_view known) {
  std::vector<std::size_t> row(known.size() + 1);
  for (std::size_t column = 0; column <= known.size(); ++column)
    row[column] = column;
  for (std::size_t line = 1; line <= written.size(); ++line) {
    std::size_t diagonal = row[0];
    row[0] = line;
    for (std::size_t column = 1; column <= known.size(); ++column) {
      std::size_t above = row[column];
      bool same = std::tolower(static_cast<unsigned char>(written[line - 1])) ==
                  std::tolower(static_cast<unsigned char>(known[column - 1]));
      row[column] = std::min({row[column] + 1, row[column - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[known.size()];
}

std::string unknown_key_message(std::string_view key, std::initializer_list<std::string_view> known_keys) {
  std::string message = "unknown key '" + std::string(key) + "'";
  auto closest = std::min_element(known_keys.begin(), known_keys.end(), [&](auto left, auto right) {
    return edit_distance(key, left) < edit_distance(key, right);
  });
  if (closest != known_keys.end() && edit_distance(key, *closest) <= 2)
    message += " (did you mean '" + std::string(*closest) + "'?)";
  message += "; allowed here: ";
  for (auto known = known_keys.begin(); known != known_keys.end(); ++known)
    message += std::string(known == known_keys.begin() ? "" : ", ") + std::string(*known);
  return message;
}

// YAML 1.2 booleans, plus the YAML 1.1 words the Go proxy's decoder still takes for a boolean key.
std::optional<bool> boolean_word(std::string_view word) {
  static constexpr std::array truths{"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"};
  static constexpr std::array falsehoods{"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"};
  if (std::find(truths.begin(), truths.end(), word) != truths.end())
    return true;
  if (std::find(falsehoods.begin(), falsehoods.end(), word) != falsehoods.end())
    return false;
  return std::nullopt;
}

// Decimal, 0x hexadecimal or 0o octal, with an optional sign, as YAML 1.2 writes integers.
std::optional<std::int64_t> integer_literal(std::string_view text) {
  bool negative = false;
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  int base = 10;
  if (text.starts_with("0x") || text.starts_with("0o")) {
    base = text[1] == 'x' ? 16 : 8;
    text.remove_prefix(2);
  }
  std::uint64_t magnitude = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), magnitude, base);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  constexpr auto limit = static_cast<std::uint64_t>(INT64_MAX);
  if (magnitude > limit + (negative ? 1 : 0))
    return std::nullopt;
  return negative ? static_cast<std::int64_t>(0 - magnitude) : static_cast<std::int64_t>(magnitude);
}

}  // namespace

located mapping::operator[](std::string_view key) const {
  for (const auto& present : fields_)
    if (present.key == key)
      return present.value;
  return {YAML::Node(), key_path(self_.path, key), self_.at};
}

bool mapping::written(std::string_view key) const {
  return std::any_of(fields_.begin(), fields_.end(), [&](const field& present) { return present.key == key; });
}

located yaml_reader::root(const YAML::Node& document) const { return {document, "", {1, 1}}; }

void yaml_reader::problem(const located& value, std::string message) {
  // A scalar is pointed at where its value starts; anything else where its key is written.
  position at = value.at;
  if (value.node.IsDefined() && value.node.IsScalar())
    at = position_of(value.node.Mark());
  result_.errors.push_back({value.path, at.line, at.column, std::move(message)});
}

mapping yaml_reader::open(const located& value, const std::initializer_list<std::string_view>* known_keys) {
  std::vector<field> fields;
  if (value.absent())
    return {value, {}};
  if (!value.node.IsMap()) {
    problem(value, "expected a mapping (indented key: value lines), found " + describe(value.node));
    leave_unchecked(value.path);
    return {value, {}};
  }
  for (const auto& pair : value.node) {
    position key_at = position_of(pair.first.Mark());
    if (!pair.first.IsScalar()) {
      problem({YAML::Node(), value.path, key_at}, "a key must be a plain name, found " + describe(pair.first));
      continue;
    }
    const std::string& name = pair.first.Scalar();
    located entry{pair.second, key_path(value.path, name), key_at};
    if (known_keys && std::find(known_keys->begin(), known_keys->end(), name) == known_keys->end()) {
      problem({YAML::Node(), entry.path, key_at}, unknown_key_message(name, *known_keys));
      continue;
    }
    auto earlier = std::find_if(fields.begin(), fields.end(), [&](const field& seen) { return seen.key == name; });
    if (earlier != fields.end()) {
      problem({YAML::Node(), entry.path, key_at}, "key '" + name + "' is written twice; the first is on line " +
                                                      std::to_string(earlier->value.at.line) + ". Keep one of them");
      continue;
    }
    result_.positions[entry.path] = key_at;
    fields.push_back({name, std::move(entry)});
  }
  return {value, std::move(fields)};
}

mapping yaml_reader::open_map(const located& value, std::initializer_list<std::string_view> known_keys) {
  return open(value, &known_keys);
}

mapping yaml_reader::open_any_map(const located& value) { return open(value, nullptr); }

std::vector<located> yaml_reader::open_sequence(const located& value) {
  std::vector<located> items;
  if (value.absent())
    return items;
  if (!value.node.IsSequence()) {
    problem(value, "expected a list (lines starting with '- '), found " + describe(value.node));
    leave_unchecked(value.path);
    return items;
  }
  for (std::size_t index = 0; index < value.node.size(); ++index) {
    located item{value.node[index], item_path(value.path, index), position_of(value.node[index].Mark())};
    result_.positions[item.path] = item.at;
    items.push_back(std::move(item));
  }
  return items;
}

std::optional<std::string> yaml_reader::text(const located& value) {
  if (value.absent())
    return std::nullopt;
  if (!value.node.IsScalar()) {
    problem(value, "expected text, found " + describe(value.node));
    return std::nullopt;
  }
  return value.node.Scalar();
}

std::optional<std::string> yaml_reader::plain_scalar(const located& value, std::string_view expected) {
  if (value.absent())
    return std::nullopt;
  if (!value.node.IsScalar() || is_quoted_or_tagged(value.node)) {
    std::string hint = value.node.IsScalar() ? " (remove the quotes)" : "";
    problem(value, "expected " + std::string(expected) + ", found " + describe(value.node) + hint);
    return std::nullopt;
  }
  return value.node.Scalar();
}

std::optional<bool> yaml_reader::flag(const located& value) {
  auto word = plain_scalar(value, "true or false");
  if (!word)
    return std::nullopt;
  auto parsed = boolean_word(*word);
  if (!parsed)
    problem(value, "expected true or false, found '" + *word + "'");
  return parsed;
}

std::optional<std::int64_t> yaml_reader::integer(const located& value, std::int64_t minimum, std::int64_t maximum) {
  auto word = plain_scalar(value, "a whole number");
  if (!word)
    return std::nullopt;
  auto parsed = integer_literal(*word);
  if (!parsed) {
    problem(value, "expected a whole number, found '" + *word + "'");
    return std::nullopt;
  }
  if (*parsed < minimum || *parsed > maximum) {
    problem(value, "found " + *word + ", which is out of range; allowed " + std::to_string(minimum) + " to " +
                       std::to_string(maximum));
    return std::nullopt;
  }
  return parsed;
}

std::optional<double> yaml_reader::number(const located& value) {
  auto word = plain_scalar(value, "a number");
  if (!word)
    return std::nullopt;
  std::string_view digits = *word;
  if (digits.starts_with('+'))
    digits.remove_prefix(1);
  double parsed = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), parsed);
  if (digits.empty() || error != std::errc{} || end != digits.data() + digits.size() || !std::isfinite(parsed)) {
    problem(value, "expected a number such as 10 or 0.5, found '" + *word + "'");
    return std::nullopt;
  }
  return parsed;
}

std::optional<address> yaml_reader::address_value(const located& value) {
  auto written = text(value);
  if (!written || written->empty())  // "" is how the Go proxy's files say "not set"
    return std::nullopt;
  auto problem_text = address_problem(*written);
  if (!problem_text.empty()) {
    problem(value, "'" + *written + "' is not an address: " + problem_text +
                       ". Write host:port, for example 127.0.0.1:7233, proxy.example:6233 or [::1]:7233");
    return std::nullopt;
  }
  return parse_address(*written);
}

std::optional<std::vector<std::string>> yaml_reader::texts(const located& value) {
  if (value.absent())
    return std::nullopt;
  std::vector<std::string> values;
  for (const auto& item : open_sequence(value))
    if (auto one = text(item))
      values.push_back(std::move(*one));
  return values;
}

bool yaml_reader::require(const mapping& map, std::string_view key) {
  if (map.has(key))
    return true;
  if (!map.self().absent() && !map.self().node.IsMap())
    return false;  // the mapping itself is wrong, and that is already reported
  problem(map[key], "required key '" + std::string(key) + "' is missing");
  return false;
}

}  // namespace s2s::config::detail
