// What the loader's two stages share: key paths, where each path is written, and the stage entry points.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace s2s::config::detail {

// 1-based, as people count lines.
struct position {
  int line = 0;
  int column = 0;
};

// Where each key path seen in the file is written.
using source_positions = std::map<std::string, position>;

// "clusterConnections[0]" + "local" -> "clusterConnections[0].local".
std::string key_path(const std::string& parent, std::string_view key);
// "clusterConnections" + 0 -> "clusterConnections[0]".
std::string item_path(const std::string& parent, std::size_t index);

// The position of path, or of its nearest ancestor that is written in the file.
position find_position(const source_positions& positions, std::string path);

// True when path is prefix itself or lies below it ("a.b" is below "a", "a.bc" is not).
bool is_within(std::string_view path, std::string_view prefix);

// The first stage: shape and types. Every problem goes to errors; what could be read goes to the result.
struct read_result {
  config value;
  source_positions positions;
  std::vector<config_error> errors;
  // Subtrees whose meaning is unknown (say, a side without a valid connectionType):
  // the second stage reports nothing inside them.
  std::set<std::string> unchecked;
};
read_result read_document(std::string_view yaml_text, const std::string& file_name);

// The second stage: what the values mean together (required-by-context keys, TLS files, duplicates).
std::vector<config_error> validate(const config& value, const source_positions& positions);

}  // namespace s2s::config::detail
