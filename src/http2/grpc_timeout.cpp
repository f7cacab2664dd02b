// grpc-timeout parsing and formatting.
#include "http2/grpc_timeout.hpp"

#include <cstdint>
#include <limits>

namespace s2s::http2 {
namespace {

constexpr std::int64_t max_value = 99'999'999;

struct unit {
  char symbol;
  std::int64_t nanoseconds;
};
// Finest first: format_timeout takes the first one that fits.
constexpr unit units[] = {
    {'n', 1}, {'u', 1'000}, {'m', 1'000'000}, {'S', 1'000'000'000}, {'M', 60'000'000'000}, {'H', 3'600'000'000'000}};

}  // namespace

std::optional<std::chrono::nanoseconds> parse_timeout(std::string_view value) {
  if (value.size() < 2 || value.size() > 9)
    return std::nullopt;
  std::int64_t digits = 0;
  for (const char c : value.substr(0, value.size() - 1)) {
    if (c < '0' || c > '9')
      return std::nullopt;
    digits = digits * 10 + (c - '0');
  }
  for (const auto& u : units) {
    if (u.symbol != value.back())
      continue;
    if (digits > std::numeric_limits<std::int64_t>::max() / u.nanoseconds)
      return std::chrono::nanoseconds::max();
    return std::chrono::nanoseconds(digits * u.nanoseconds);
  }
  return std::nullopt;
}

std::string format_timeout(std::chrono::nanoseconds remaining) {
  const std::int64_t ns = remaining.count() > 0 ? remaining.count() : 1;
  for (const auto& u : units) {
    const std::int64_t value = ns / u.nanoseconds + (ns % u.nanoseconds != 0 ? 1 : 0);
    if (value <= max_value)
      return std::to_string(value) + u.symbol;
  }
  return std::to_string(max_value) + 'H';
}

}  // namespace s2s::http2
