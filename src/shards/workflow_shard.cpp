// Temporal's placement of a workflow on a history shard, with FarmHash's 32-bit fingerprint written out.
#include "shards/workflow_shard.hpp"

#include <cstring>
#include <string>

namespace s2s::shards {
namespace {

constexpr std::uint32_t mul1 = 0xcc9e2d51;
constexpr std::uint32_t mul2 = 0x1b873593;
constexpr std::uint32_t add = 0xe6546b64;

std::uint32_t load32(const char* at) {
  // Little-endian, as FarmHash reads words on every platform.
  auto* b = reinterpret_cast<const unsigned char*>(at);
  return std::uint32_t(b[0]) | std::uint32_t(b[1]) << 8 | std::uint32_t(b[2]) << 16 | std::uint32_t(b[3]) << 24;
}

std::uint32_t rotate_right(std::uint32_t value, int shift) {
  return shift == 0 ? value : (value >> shift) | (value << (32 - shift));
}

std::uint32_t final_mix(std::uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

// One Murmur3-style round mixing `word` into `h`.
std::uint32_t mix_in(std::uint32_t word, std::uint32_t h) {
  word *= mul1;
  word = rotate_right(word, 17);
  word *= mul2;
  h ^= word;
  h = rotate_right(h, 19);
  return h * 5 + add;
}

std::uint32_t hash_up_to_4(const char* s, std::size_t len) {
  std::uint32_t b = 0;
  std::uint32_t c = 9;
  for (std::size_t i = 0; i < len; ++i) {
    // FarmHash adds the bytes as signed chars.
    b = b * mul1 + static_cast<std::uint32_t>(static_cast<std::int32_t>(static_cast<signed char>(s[i])));
    c ^= b;
  }
  return final_mix(mix_in(b, mix_in(static_cast<std::uint32_t>(len), c)));
}

std::uint32_t hash_5_to_12(const char* s, std::size_t len) {
  auto n = static_cast<std::uint32_t>(len);
  std::uint32_t a = n + load32(s);
  std::uint32_t b = n * 5 + load32(s + len - 4);
  std::uint32_t c = 9 + load32(s + ((len >> 1) & 4));
  std::uint32_t d = n * 5;
  return final_mix(mix_in(c, mix_in(b, mix_in(a, d))));
}

std::uint32_t hash_13_to_24(const char* s, std::size_t len) {
  std::uint32_t a = load32(s - 4 + (len >> 1));
  std::uint32_t b = load32(s + 4);
  std::uint32_t c = load32(s + len - 8);
  std::uint32_t d = load32(s + (len >> 1));
  std::uint32_t e = load32(s);
  std::uint32_t f = load32(s + len - 4);
  std::uint32_t h = d * mul1 + static_cast<std::uint32_t>(len);
  a = rotate_right(a, 12) + f;
  h = mix_in(c, h) + a;
  a = rotate_right(a, 3) + c;
  h = mix_in(e, h) + a;
  a = rotate_right(a + f, 12) + d;
  h = mix_in(b, h) + a;
  return final_mix(h);
}

// Folds a word already scrambled by the caller into `h`, the second half of mix_in.
std::uint32_t fold(std::uint32_t h, std::uint32_t scrambled) {
  h ^= scrambled;
  h = rotate_right(h, 19);
  return h * 5 + add;
}

std::uint32_t scramble(std::uint32_t word) { return rotate_right(word * mul1, 17) * mul2; }

std::uint32_t hash_long(const char* s, std::size_t len) {
  auto n = static_cast<std::uint32_t>(len);
  std::uint32_t h = n;
  std::uint32_t g = mul1 * n;
  std::uint32_t f = g;
  h = fold(fold(h, scramble(load32(s + len - 4))), scramble(load32(s + len - 16)));
  g = fold(fold(g, scramble(load32(s + len - 8))), scramble(load32(s + len - 12)));
  f = rotate_right(f + scramble(load32(s + len - 20)), 19) + 113;
  for (std::size_t blocks = (len - 1) / 20; blocks > 0; --blocks, s += 20) {
    std::uint32_t a = load32(s);
    std::uint32_t b = load32(s + 4);
    std::uint32_t c = load32(s + 8);
    std::uint32_t d = load32(s + 12);
    std::uint32_t e = load32(s + 16);
    h += a;
    g += b;
    f += c;
    h = mix_in(d, h) + e;
    g = mix_in(c, g) + a;
    f = mix_in(b + e * mul1, f) + d;
    f += g;
    g += f;
  }
  g = rotate_right(rotate_right(g, 11) * mul1, 17) * mul1;
  f = rotate_right(rotate_right(f, 11) * mul1, 17) * mul1;
  h = rotate_right(h + g, 19) * 5 + add;
  h = rotate_right(h, 17) * mul1;
  h = rotate_right(h + f, 19) * 5 + add;
  return rotate_right(h, 17) * mul1;
}

}  // namespace

std::uint32_t farm_fingerprint32(std::string_view bytes) {
  const char* s = bytes.data();
  std::size_t len = bytes.size();
  if (len <= 4)
    return hash_up_to_4(s, len);
  if (len <= 12)
    return hash_5_to_12(s, len);
  if (len <= 24)
    return hash_13_to_24(s, len);
  return hash_long(s, len);
}

std::int32_t workflow_shard(std::string_view namespace_id, std::string_view workflow_id, std::int32_t shard_count) {
  std::string key;
  key.reserve(namespace_id.size() + 1 + workflow_id.size());
  key.append(namespace_id).append("_").append(workflow_id);
  return static_cast<std::int32_t>(farm_fingerprint32(key) % static_cast<std::uint32_t>(shard_count)) + 1;
}

}  // namespace s2s::shards
