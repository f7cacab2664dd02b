// The grpc-timeout header: at most eight digits and a unit (H M S m u n).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace s2s::http2 {

// Nothing when the value is malformed (no digits, more than eight, an unknown unit). Values too
// long for nanoseconds (99999999H is) saturate to nanoseconds::max().
std::optional<std::chrono::nanoseconds> parse_timeout(std::string_view value);

// The time left, in the finest unit that fits eight digits, rounded up so the callee's deadline
// is never earlier than ours. Zero or less becomes "1n": a deadline that has passed is the
// caller's to refuse with DEADLINE_EXCEEDED before it sends anything.
std::string format_timeout(std::chrono::nanoseconds remaining);

}  // namespace s2s::http2
