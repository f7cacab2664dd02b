// The loader's entry points: run both stages, keep one report per problem, and describe the result.
#include "config/config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "config/internal.hpp"

namespace s2s::config {
namespace detail {

std::string key_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string item_path(const std::string& parent, std::size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

bool is_within(std::string_view path, std::string_view prefix) {
  if (prefix.empty())
    return true;
  if (!path.starts_with(prefix))
    return false;
  return path.size() == prefix.size() || path[prefix.size()] == '.' || path[prefix.size()] == '[';
}

position find_position(const source_positions& positions, std::string path) {
  while (true) {
    if (auto found = positions.find(path); found != positions.end())
      return found->second;
    if (path.empty())
      return {1, 1};
    auto cut = path.find_last_of(".[");
    path.resize(cut == std::string::npos ? 0 : cut);
  }
}

}  // namespace detail

namespace {

// A problem found by the second stage is dropped when the first already reported that key or
// something above it, so one mistake is reported once, not again as each of its consequences.
bool already_reported(const config_error& problem, const detail::read_result& read) {
  auto covers = [&](std::string_view prefix) { return detail::is_within(problem.path, prefix); };
  bool by_unchecked = std::any_of(read.unchecked.begin(), read.unchecked.end(), covers);
  bool by_error = std::any_of(read.errors.begin(), read.errors.end(), [&](const config_error& earlier) {
    return !earlier.path.empty() && covers(earlier.path);
  });
  return by_unchecked || by_error;
}

}  // namespace

std::string_view to_string(connection_type type) {
  switch (type) {
    case connection_type::tcp:
      return "tcp";
    case connection_type::mux_client:
      return "mux-client";
    case connection_type::mux_server:
      return "mux-server";
  }
  return "unknown";
}

std::string config_error::to_string() const {
  std::string location;
  if (line > 0)
    location = "line " + std::to_string(line) + ", column " + std::to_string(column);
  if (!path.empty())
    location = location.empty() ? path : path + " (" + location + ")";
  return location.empty() ? message : location + ": " + message;
}

load_result parse(std::string_view yaml_text, const std::string& file_name) {
  auto read = detail::read_document(yaml_text, file_name);
  load_result result;
  result.errors = read.errors;
  for (auto& problem : detail::validate(read.value, read.positions))
    if (!already_reported(problem, read))
      result.errors.push_back(std::move(problem));
  std::stable_sort(result.errors.begin(), result.errors.end(), [](const config_error& left, const config_error& right) {
    return std::pair(left.line, left.column) < std::pair(right.line, right.column);
  });
  if (result.errors.empty())
    result.value = std::move(read.value);
  return result;
}

load_result load_file(const std::string& path) {
  auto unreadable = [&](const std::string& why) {
    load_result result;
    result.errors.push_back({"", 0, 0, "cannot read config file '" + path + "': " + why});
    return result;
  };
  std::error_code error;
  if (std::filesystem::is_directory(path, error))
    return unreadable("it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return unreadable(std::strerror(errno));
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad())
    return unreadable("reading failed");
  return parse(text, path);
}

std::string summarize(const config& config) {
  auto count = config.cluster_connections.size();
  std::string line = "config OK: " + std::to_string(count) + " cluster connection" + (count == 1 ? "" : "s") + " (";
  for (std::size_t index = 0; index < count; ++index) {
    const auto& connection = config.cluster_connections[index];
    line += (index == 0 ? "" : ", ") + connection.name + ": " + std::string(to_string(connection.local.type)) + "/" +
            std::string(to_string(connection.remote.type));
  }
  line += "), ";
  line += config.metrics_listen_address ? "metrics on " + config.metrics_listen_address->to_string() : "metrics off";
  return line;
}

}  // namespace s2s::config
