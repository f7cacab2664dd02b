// Protobuf wire-format primitives: bounds-checked varints, tags and field skipping over raw bytes.
#include "translation/wire.hpp"

#include <algorithm>
#include <iterator>
#include <vector>

namespace s2s::translation::wire {

std::size_t varint_size(std::uint64_t value) {
  std::size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

void append_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

std::string encode_varint(std::uint64_t value) {
  std::string out;
  append_varint(out, value);
  return out;
}

void append_tag(std::string& out, std::uint32_t number, wire_type type) {
  append_varint(out, (static_cast<std::uint64_t>(number) << 3) | static_cast<std::uint64_t>(type));
}

std::string reader::error() const {
  std::string where = "at byte " + std::to_string(offset(problem_at_)) + ": ";
  auto n = [this](int i) { return std::to_string(detail_[i]); };
  switch (problem_) {
    case problem::none:
      return "no error";
    case problem::varint_truncated:
      return where + "varint runs past the end of its message";
    case problem::varint_too_long:
      return where + "varint longer than 10 bytes";
    case problem::field_number:
      return where + "invalid field number " + n(0);
    case problem::truncated_fixed64:
      return where + "fixed64 field " + n(0) + " is truncated";
    case problem::truncated_fixed32:
      return where + "fixed32 field " + n(0) + " is truncated";
    case problem::length:
      return where + "field " + n(0) + " declares " + n(1) + " bytes but only " + n(2) + " are left";
    case problem::unmatched_end_group:
      return where + "end-group marker for field " + n(0) + " without a matching start";
    case problem::wire_type:
      return where + "invalid wire type " + n(1) + " for field " + n(0);
    case problem::group_too_deep:
      return where + "groups nested deeper than " + std::to_string(max_depth) + " levels";
    case problem::group_mismatch:
      return where + "end-group marker for field " + n(0) + " inside group " + n(1);
    case problem::group_unterminated:
      return where + "group " + n(0) + " has no end-group marker";
  }
  return where + "malformed";
}

bool reader::read_varint_slow(std::uint64_t& value) {
  const char* start = p_;
  value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p_ == end_)
      return fail(problem::varint_truncated, start);
    auto byte = static_cast<std::uint8_t>(*p_++);
    value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0)
      return true;
  }
  return fail(problem::varint_too_long, start);
}

bool reader::skip_group(std::uint32_t number, int depth) {
  const char* start = p_;
  if (depth > max_depth)
    return fail(problem::group_too_deep, start);
  while (p_ != end_) {
    const char* tag_at = p_;
    std::uint64_t key = 0;
    if (!read_varint(key))
      return false;
    auto type = static_cast<wire_type>(key & 7);
    auto inner = key >> 3;
    if (type == wire_type::end_group) {
      if (inner != number)
        return fail(problem::group_mismatch, tag_at, inner, number);
      return true;
    }
    p_ = tag_at;
    reader nested(p_, end_, origin_, depth);
    field skipped;
    if (!nested.read(skipped)) {
      problem_ = nested.problem_;
      problem_at_ = nested.problem_at_;
      std::copy(std::begin(nested.detail_), std::end(nested.detail_), std::begin(detail_));
      return false;
    }
    p_ = skipped.end;
  }
  return fail(problem::group_unterminated, start, number);
}

bool set_top_level_field(std::string& bytes, std::uint32_t number, std::string_view encoded, bool& changed,
                         std::string& error) {
  struct span {
    std::size_t begin, end;
  };
  std::vector<span> found;
  reader in(bytes.data(), bytes.data() + bytes.size(), bytes.data());
  while (!in.at_end()) {
    field f;
    if (!in.read(f)) {
      error = in.error();
      return false;
    }
    if (f.number == number)
      found.push_back({in.offset(f.begin), in.offset(f.end)});
  }
  if (found.size() == 1 && std::string_view(bytes).substr(found[0].begin, found[0].end - found[0].begin) == encoded) {
    changed = false;
    return true;
  }
  std::string out;
  out.reserve(bytes.size() + encoded.size());
  std::size_t at = 0;
  for (std::size_t i = 0; i < found.size(); ++i) {
    out.append(bytes, at, found[i].begin - at);
    if (i == 0)
      out.append(encoded);
    at = found[i].end;
  }
  out.append(bytes, at, std::string::npos);
  if (found.empty())
    out.append(encoded);
  bytes.swap(out);
  changed = true;
  return true;
}

}  // namespace s2s::translation::wire
