// Process-wide logging: one event per line on stderr, filtered by level.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace s2s::log {

enum class level { debug, info, warn, error };

std::optional<level> parse_level(std::string_view text);
void set_level(level minimum);
bool enabled(level at);

// Writes "<time> <LEVEL> <component>: <message>". Never pass key material or payload bytes.
void write(level at, std::string_view component, std::string_view message);

inline void debug(std::string_view component, std::string_view message) { write(level::debug, component, message); }
inline void info(std::string_view component, std::string_view message) { write(level::info, component, message); }
inline void warn(std::string_view component, std::string_view message) { write(level::warn, component, message); }
inline void error(std::string_view component, std::string_view message) { write(level::error, component, message); }

}  // namespace s2s::log
