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
// error() says what is wrong; offset() reports positions relative to `origin` (the whole buffer).
class reader {
 public:
  reader(const char* begin, const char* end, const char* origin, int depth = 0)
      : p_(begin), end_(end), origin_(origin), depth_(depth) {}

  bool at_end() const { return p_ == end_; }
  // Reads the next field (groups are skipped whole). Call only when !at_end().
  bool read(field& out);
  const std::string& error() const { return error_; }
  std::size_t offset(const char* at) const { return static_cast<std::size_t>(at - origin_); }

 private:
  bool read_varint(std::uint64_t& value);
  bool skip_group(std::uint32_t number, int depth);
  bool fail(const char* at, std::string what);

  const char* p_;
  const char* end_;
  const char* origin_;
  int depth_;
  std::string error_;
};

// Replaces every occurrence of top-level field `number` with one field `encoded` (tag included):
// in place of the first occurrence, or appended when absent. Returns false with `error` on malformed input;
// `changed` tells whether the bytes differ afterwards.
bool set_top_level_field(std::string& bytes, std::uint32_t number, std::string_view encoded, bool& changed,
                         std::string& error);

// The value of the last occurrence of top-level string/bytes field `number` (protobuf's "last one wins"),
// or empty. Returns false with `error` on malformed input.
bool find_top_level_bytes(std::string_view bytes, std::uint32_t number, std::string_view& value,
                          std::string& error);

}  // namespace s2s::translation::wire
