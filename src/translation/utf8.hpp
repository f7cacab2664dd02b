// UTF-8 repair: invalid sequences become U+FFFD, as old Temporal versions wrote strings newer ones reject.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace s2s::translation {

bool is_valid_utf8(std::string_view text);

// Writes `text` with each maximal invalid subsequence replaced by U+FFFD (Unicode's "substitution of
// maximal subparts") into `out` and returns how many were replaced; 0 leaves `out` untouched.
std::size_t repair_utf8(std::string_view text, std::string& out);

}  // namespace s2s::translation
