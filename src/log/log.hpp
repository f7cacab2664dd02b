// Process-wide logging: one event per line, filtered by level per component, throttled per component.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace s2s::log {

enum class level { debug, info, warn, error };

std::optional<level> parse_level(std::string_view text);
std::string_view to_string(level at);

// How one component logs (or the default for components without settings of their own).
struct settings {
  level minimum = level::info;
  bool disabled = false;
  // Lines per second a component may write, with a burst of as many lines; 0 = no limit.
  double max_lines_per_second = 0;
};

// Replaces the default and the per-component settings. A component's settings apply to the
// component of that name and to every component whose name starts with it and a space
// ("a-to-b" covers "a-to-b mux"); the longest such name wins.
void configure(settings defaults, std::map<std::string, settings, std::less<>> components = {});
// Sets only the default level (kept for the command line's --level).
void set_level(level minimum);
// False when no component would write a line at this level: a cheap check before building one.
bool enabled(level at);

// Writes "<time> <LEVEL> <component>: <message>" unless the component's level or throttle
// says no. A line that the throttle drops is counted; the count is written as one line
// ("N lines dropped ...") at most once a second, with the next line that is written or by
// report_dropped_lines(). Never pass key material or payload bytes.
void write(level at, std::string_view component, std::string_view message);

inline void debug(std::string_view component, std::string_view message) { write(level::debug, component, message); }
inline void info(std::string_view component, std::string_view message) { write(level::info, component, message); }
inline void warn(std::string_view component, std::string_view message) { write(level::warn, component, message); }
inline void error(std::string_view component, std::string_view message) { write(level::error, component, message); }

// Writes the pending "lines dropped" line now, if there is one (for a periodic timer).
void report_dropped_lines();
// Lines the throttle has dropped since the process started, per component.
std::map<std::string, std::uint64_t> dropped_lines();

// Where lines go (one call per line, without the newline); empty = stderr.
void set_output(std::function<void(std::string_view line)> output);
// The clock the throttle reads; empty = std::chrono::steady_clock. For tests.
void set_clock(std::function<std::chrono::steady_clock::time_point()> clock);

// Allows `rate` events per second with a burst of max(rate, 1), refilled continuously.
class token_bucket {
 public:
  explicit token_bucket(double rate = 0);
  // True when an event may pass at `now`; takes one token.
  bool take(std::chrono::steady_clock::time_point now);

 private:
  double rate_;
  double capacity_;
  double tokens_;
  std::optional<std::chrono::steady_clock::time_point> last_;
};

}  // namespace s2s::log
