// Process-wide logging: one event per line, filtered by level per component, throttled per component.
#include "log/log.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <unordered_map>

namespace s2s::log {
namespace {

constexpr std::chrono::seconds drop_report_interval{1};

// What the throttle knows of one component that has written.
struct component_state {
  const settings* rules = nullptr;
  token_bucket bucket;
  std::uint64_t dropped_total = 0;
  std::uint64_t dropped_unreported = 0;
};

struct logger {
  std::mutex mutex;
  settings defaults;
  std::map<std::string, settings, std::less<>> overrides;
  std::map<std::string, component_state, std::less<>> components;
  std::function<void(std::string_view)> output;
  std::function<std::chrono::steady_clock::time_point()> clock;
  std::chrono::steady_clock::time_point last_drop_report{};

  std::chrono::steady_clock::time_point now() const { return clock ? clock() : std::chrono::steady_clock::now(); }

  const settings& rules_for(std::string_view component) const {
    const settings* best = &defaults;
    std::size_t best_length = 0;
    for (const auto& [name, rules] : overrides) {
      bool covers = component == name ||
                    (component.size() > name.size() && component.starts_with(name) && component[name.size()] == ' ');
      if (covers && (best == &defaults || name.size() > best_length)) {
        best = &rules;
        best_length = name.size();
      }
    }
    return *best;
  }

  component_state& state_for(std::string_view component) {
    auto found = components.find(component);
    if (found != components.end())
      return found->second;
    const auto& rules = rules_for(component);
    auto& state = components[std::string(component)];
    state.rules = &rules;
    state.bucket = token_bucket(rules.max_lines_per_second);
    return state;
  }

  void emit(level at, std::string_view component, std::string_view message) {
    auto wall = std::chrono::system_clock::now();
    auto seconds = std::chrono::system_clock::to_time_t(wall);
    auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()) % 1000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
    std::string line;
    line.reserve(48 + component.size() + message.size());
    char prefix[48];
    std::snprintf(prefix, sizeof prefix, "%s.%03dZ %s ", stamp, static_cast<int>(millis.count()), to_string(at).data());
    line += prefix;
    line += component;
    line += ": ";
    // One event per line: a message never breaks the line it is on.
    for (char c : message)
      line += (c == '\n' || c == '\r') ? ' ' : c;
    if (output) {
      output(line);
    } else {
      line += '\n';
      std::fwrite(line.data(), 1, line.size(), stderr);
    }
  }

  // Writes the pending drop counts as one line, when there are any and a second has passed.
  void report_drops(std::chrono::steady_clock::time_point at, bool force) {
    if (!force && at - last_drop_report < drop_report_interval)
      return;
    std::uint64_t total = 0;
    std::string detail;
    for (auto& [name, state] : components) {
      if (state.dropped_unreported == 0)
        continue;
      total += state.dropped_unreported;
      detail += (detail.empty() ? "" : ", ") + name + ": " + std::to_string(state.dropped_unreported);
      state.dropped_unreported = 0;
    }
    if (total == 0)
      return;
    last_drop_report = at;
    emit(level::warn, "log",
         std::to_string(total) + (total == 1 ? " line" : " lines") + " dropped by throttleMaxRPS (" + detail + ")");
  }
};

// The component a line counts against: its name without the words that are numbers, so that the
// sessions, streams and attempts of one part ("a-to-b mux session 17") share one throttle and
// one entry rather than each starting a fresh bucket (and a map entry that is never freed).
std::string throttle_key(std::string_view component) {
  std::string key;
  key.reserve(component.size());
  while (!component.empty()) {
    auto end = component.find(' ');
    auto word = component.substr(0, end);
    component = end == std::string_view::npos ? std::string_view() : component.substr(end + 1);
    bool number = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (number)
      continue;
    if (!key.empty())
      key += ' ';
    key += word;
  }
  return key;
}

logger& the_logger() {
  static logger instance;
  return instance;
}

// The lowest level any component writes at, so enabled() needs no lock.
std::atomic<level> lowest_enabled{level::info};

void refresh_lowest(const logger& state) {
  auto lowest = state.defaults.disabled ? level::error : state.defaults.minimum;
  for (const auto& [name, rules] : state.overrides)
    if (!rules.disabled)
      lowest = std::min(lowest, rules.minimum);
  lowest_enabled = lowest;
}

}  // namespace

std::optional<level> parse_level(std::string_view text) {
  if (text == "debug")
    return level::debug;
  if (text == "info")
    return level::info;
  if (text == "warn")
    return level::warn;
  if (text == "error")
    return level::error;
  return std::nullopt;
}

std::string_view to_string(level at) {
  switch (at) {
    case level::debug:
      return "DEBUG";
    case level::info:
      return "INFO";
    case level::warn:
      return "WARN";
    case level::error:
      return "ERROR";
  }
  return "?";
}

token_bucket::token_bucket(double rate) : rate_(rate), capacity_(std::max(rate, 1.0)), tokens_(capacity_) {}

bool token_bucket::take(std::chrono::steady_clock::time_point now) {
  if (rate_ <= 0)
    return true;
  if (last_ && now > *last_) {
    std::chrono::duration<double> elapsed = now - *last_;
    tokens_ = std::min(capacity_, tokens_ + elapsed.count() * rate_);
  }
  if (!last_ || now > *last_)
    last_ = now;
  if (tokens_ < 1)
    return false;
  tokens_ -= 1;
  return true;
}

void configure(settings defaults, std::map<std::string, settings, std::less<>> components) {
  auto& state = the_logger();
  std::lock_guard guard(state.mutex);
  auto now = state.now();
  state.report_drops(now, true);
  state.last_drop_report = now;  // the next report comes a second after configuring at the earliest
  state.defaults = defaults;
  state.overrides = std::move(components);
  // Totals survive a reconfiguration; the buckets start afresh with the new rates.
  for (auto& [name, component] : state.components) {
    component.rules = &state.rules_for(name);
    component.bucket = token_bucket(component.rules->max_lines_per_second);
  }
  refresh_lowest(state);
}

void set_level(level minimum) {
  auto& state = the_logger();
  std::lock_guard guard(state.mutex);
  state.defaults.minimum = minimum;
  refresh_lowest(state);
}

bool enabled(level at) { return at >= lowest_enabled.load(std::memory_order_relaxed); }

void write(level at, std::string_view component, std::string_view message) {
  if (!enabled(at))
    return;
  auto& state = the_logger();
  std::lock_guard guard(state.mutex);
  auto& entry = state.state_for(throttle_key(component));
  if (entry.rules->disabled || at < entry.rules->minimum)
    return;
  auto now = state.now();
  if (!entry.bucket.take(now)) {
    ++entry.dropped_total;
    ++entry.dropped_unreported;
    return;
  }
  state.report_drops(now, false);
  state.emit(at, component, message);
}

void report_dropped_lines() {
  auto& state = the_logger();
  std::lock_guard guard(state.mutex);
  state.report_drops(state.now(), true);
}

std::map<std::string, std::uint64_t> dropped_lines() {
  auto& state = the_logger();
  std::lock_guard guard(state.mutex);
  std::map<std::string, std::uint64_t> result;
  for (const auto& [name, component] : state.components)
    if (component.dropped_total > 0)
      result[name] = component.dropped_total;
  return result;
}

void set_output(std::function<void(std::string_view line)> output) {
  auto& state = the_logger();
  std::lock_guard guard(state.mutex);
  state.output = std::move(output);
}

void set_clock(std::function<std::chrono::steady_clock::time_point()> clock) {
  auto& state = the_logger();
  std::lock_guard guard(state.mutex);
  state.clock = std::move(clock);
}

}  // namespace s2s::log
