// Protobuf wire-format primitives: bounds-checked varints, tags and field skipping over raw bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace s2s::translation::wire {

enum class wire_type : std::uint8_t {
  varint = 0,
  fixed64 = 1,
  length_delimited = 2,
  start_group = 3,
  end_group = 4,
  fixed32 = 5,
};

inline constexpr std::uint32_t max_field_number = (1u << 29) - 1;
// Deeper nesting than protobuf's own parsers accept is refused, so hostile input cannot exhaust the stack.
inline constexpr int max_depth = 100;

std::size_t varint_size(std::uint64_t value);
void append_varint(std::string& out, std::uint64_t value);
std::string encode_varint(std::uint64_t value);
void append_tag(std::string& out, std::uint32_t number, wire_type type);

// One field as it sits on the wire.
struct field {
  std::uint32_t number = 0;
  wire_type type = wire_type::varint;
  const char* begin = nullptr;          // first byte of the tag
  const char* value_begin = nullptr;    // first byte after the tag (the length prefix for length-delimited)
  const char* payload_begin = nullptr;  // length-delimited: first byte of the payload
  const char* end = nullptr;            // one past the field
  std::uint64_t varint = 0;             // the value of a varint field

  std::string_view payload() const { return {payload_begin, static_cast<std::size_t>(end - payload_begin)}; }
};

// Reads the fields of one message from [begin, end). On malformed input read() returns false and
// error() says what is wrong; positions are reported relative to `origin` (the whole buffer).
// The common cases (one-byte tags and lengths) are inline: this loop is the rewriter's hot path.
class reader {
 public:
  reader(const char* begin, const char* end, const char* origin, int depth = 0)
      : p_(begin), end_(end), origin_(origin), depth_(depth) {}

  bool at_end() const { return p_ == end_; }

  // Reads the next field (groups are skipped whole). Call only when !at_end().
  [[gnu::always_inline]] bool read(field& out) {
    out.begin = p_;
    std::uint64_t key = 0;
    if (!read_varint(key))
      return false;
    auto number = key >> 3;
    if (number == 0 || number > max_field_number)
      return fail(problem::field_number, out.begin, number);
    out.number = static_cast<std::uint32_t>(number);
    out.type = static_cast<wire_type>(key & 7);
    out.value_begin = p_;
    out.payload_begin = p_;
    switch (out.type) {
      case wire_type::varint:
        if (!read_varint(out.varint))
          return false;
        break;
      case wire_type::fixed64:
        if (end_ - p_ < 8)
          return fail(problem::truncated_fixed64, out.begin, number);
        p_ += 8;
        break;
      case wire_type::fixed32:
        if (end_ - p_ < 4)
          return fail(problem::truncated_fixed32, out.begin, number);
        p_ += 4;
        break;
      case wire_type::length_delimited: {
        std::uint64_t length = 0;
        if (!read_varint(length))
          return false;
        auto left = static_cast<std::uint64_t>(end_ - p_);
        if (length > left)
          return fail(problem::length, out.value_begin, number, length, left);
        out.payload_begin = p_;
        p_ += length;
        break;
      }
      case wire_type::start_group:
        if (!skip_group(out.number, depth_ + 1))
          return false;
        break;
      case wire_type::end_group:
        return fail(problem::unmatched_end_group, out.begin, number);
      default:
        return fail(problem::wire_type, out.begin, number, key & 7);
    }
    out.end = p_;
    return true;
  }

  // What is wrong and where, after read() returned false.
  std::string error() const;
  std::size_t offset(const char* at) const { return static_cast<std::size_t>(at - origin_); }

 private:
  enum class problem : std::uint8_t {
    none,
    varint_truncated,
    varint_too_long,
    field_number,
    truncated_fixed64,
    truncated_fixed32,
    length,
    unmatched_end_group,
    wire_type,
    group_too_deep,
    group_mismatch,
    group_unterminated,
  };

  [[gnu::always_inline]] bool read_varint(std::uint64_t& value) {
    if (p_ != end_ && static_cast<std::uint8_t>(*p_) < 0x80) {
      value = static_cast<std::uint8_t>(*p_++);
      return true;
    }
    return read_varint_slow(value);
  }
  bool read_varint_slow(std::uint64_t& value);
  bool skip_group(std::uint32_t number, int depth);
  bool fail(problem what, const char* at, std::uint64_t a = 0, std::uint64_t b = 0, std::uint64_t c = 0) {
    problem_ = what;
    problem_at_ = at;
    detail_[0] = a;
    detail_[1] = b;
    detail_[2] = c;
    return false;
  }

  const char* p_;
  const char* end_;
  const char* origin_;
  int depth_;
  problem problem_ = problem::none;
  const char* problem_at_ = nullptr;
  std::uint64_t detail_[3] = {};
};

// Replaces every occurrence of top-level field `number` with one field `encoded` (tag included):
// in place of the first occurrence, or appended when absent. Returns false with `error` on malformed input;
// `changed` tells whether the bytes differ afterwards.
bool set_top_level_field(std::string& bytes, std::uint32_t number, std::string_view encoded, bool& changed,
                         std::string& error);

}  // namespace s2s::translation::wire
