// UTF-8 repair: invalid sequences become U+FFFD, as old Temporal versions wrote strings newer ones reject.
#include "translation/utf8.hpp"

#include <cstdint>
#include <cstring>

namespace s2s::translation {
namespace {

constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

// Length of the well-formed sequence starting at `p` (Unicode table 3-7), or 0 when it is not one;
// `consumed` is then the length of its maximal subpart, at least 1.
std::size_t sequence_length(const unsigned char* p, const unsigned char* end, std::size_t& consumed) {
  unsigned char lead = p[0];
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // bounds of the second byte
  if (lead < 0x80)
    return consumed = 1;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0)
      low = 0xA0;
    if (lead == 0xED)
      high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0)
      low = 0x90;
    if (lead == 0xF4)
      high = 0x8F;
  } else {
    consumed = 1;
    return 0;
  }
  consumed = 1;
  for (std::size_t i = 1; i < length; ++i) {
    if (p + i == end)
      return 0;
    unsigned char byte = p[i];
    bool ok = i == 1 ? (byte >= low && byte <= high) : (byte >= 0x80 && byte <= 0xBF);
    if (!ok)
      return 0;
    consumed = i + 1;
  }
  return length;
}

// Skips the ASCII prefix eight bytes at a time: most strings in Temporal traffic are ASCII.
const unsigned char* skip_ascii(const unsigned char* p, const unsigned char* end) {
  while (end - p >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    if (word & 0x8080808080808080ull)
      break;
    p += 8;
  }
  while (p != end && *p < 0x80)
    ++p;
  return p;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  auto p = reinterpret_cast<const unsigned char*>(text.data());
  auto end = p + text.size();
  while ((p = skip_ascii(p, end)) != end) {
    std::size_t consumed = 0;
    if (sequence_length(p, end, consumed) == 0)
      return false;
    p += consumed;
  }
  return true;
}

std::size_t repair_utf8(std::string_view text, std::string& out) {
  auto begin = reinterpret_cast<const unsigned char*>(text.data());
  auto end = begin + text.size();
  auto p = begin;
  auto copied = begin;  // everything before this is already in `out`
  std::size_t repairs = 0;
  while ((p = skip_ascii(p, end)) != end) {
    std::size_t consumed = 0;
    if (sequence_length(p, end, consumed) != 0) {
      p += consumed;
      continue;
    }
    if (repairs++ == 0) {
      out.clear();
      out.reserve(text.size() + 2);
    }
    out.append(reinterpret_cast<const char*>(copied), static_cast<std::size_t>(p - copied));
    out.append(replacement_character);
    p += consumed;
    copied = p;
  }
  if (repairs != 0)
    out.append(reinterpret_cast<const char*>(copied), static_cast<std::size_t>(end - copied));
  return repairs;
}

}  // namespace s2s::translation
