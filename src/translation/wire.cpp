// Protobuf wire-format primitives: bounds-checked varints, tags and field skipping over raw bytes.
#include "translation/wire.hpp"

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

bool reader::fail(const char* at, std::string what) {
  error_ = "at byte " + std::to_string(offset(at)) + ": " + std::move(what);
  return false;
}

bool reader::read_varint(std::uint64_t& value) {
  const char* start = p_;
  value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p_ == end_) return fail(start, "varint runs past the end of its message");
    auto byte = static_cast<std::uint8_t>(*p_++);
    value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return fail(start, "varint longer than 10 bytes");
}

bool reader::read(field& out) {
  out.begin = p_;
  std::uint64_t key = 0;
  if (!read_varint(key)) return false;
  auto number = key >> 3;
  auto type = static_cast<std::uint32_t>(key & 7);
  if (number == 0 || number > max_field_number) {
    return fail(out.begin, "invalid field number " + std::to_string(number));
  }
  out.number = static_cast<std::uint32_t>(number);
  out.type = static_cast<wire_type>(type);
  out.value_begin = p_;
  out.payload_begin = p_;
  switch (out.type) {
    case wire_type::varint:
      if (!read_varint(out.varint)) return false;
      break;
    case wire_type::fixed64:
      if (end_ - p_ < 8) return fail(out.begin, "fixed64 field " + std::to_string(number) + " is truncated");
      p_ += 8;
      break;
    case wire_type::fixed32:
      if (end_ - p_ < 4) return fail(out.begin, "fixed32 field " + std::to_string(number) + " is truncated");
      p_ += 4;
      break;
    case wire_type::length_delimited: {
      std::uint64_t length = 0;
      if (!read_varint(length)) return false;
      auto left = static_cast<std::uint64_t>(end_ - p_);
      if (length > left) {
        return fail(out.value_begin, "field " + std::to_string(number) + " declares " + std::to_string(length) +
                                         " bytes but only " + std::to_string(left) + " are left");
      }
      out.payload_begin = p_;
      p_ += length;
      break;
    }
    case wire_type::start_group:
      if (!skip_group(out.number, depth_ + 1)) return false;
      break;
    case wire_type::end_group:
      return fail(out.begin, "end-group marker for field " + std::to_string(number) + " without a matching start");
    default:
      return fail(out.begin, "invalid wire type " + std::to_string(type) + " for field " + std::to_string(number));
  }
  out.end = p_;
  return true;
}

bool reader::skip_group(std::uint32_t number, int depth) {
  const char* start = p_;
  if (depth > max_depth) return fail(start, "groups nested deeper than " + std::to_string(max_depth) + " levels");
  while (p_ != end_) {
    const char* tag_at = p_;
    std::uint64_t key = 0;
    if (!read_varint(key)) return false;
    auto type = static_cast<wire_type>(key & 7);
    auto inner = key >> 3;
    if (type == wire_type::end_group) {
      if (inner != number) {
        return fail(tag_at, "end-group marker for field " + std::to_string(inner) + " inside group " +
                                std::to_string(number));
      }
      return true;
    }
    p_ = tag_at;
    reader nested(p_, end_, origin_, depth);
    field skipped;
    if (!nested.read(skipped)) {
      error_ = nested.error_;
      return false;
    }
    p_ = skipped.end;
  }
  return fail(start, "group " + std::to_string(number) + " has no end-group marker");
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
    if (f.number == number) found.push_back({in.offset(f.begin), in.offset(f.end)});
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
    if (i == 0) out.append(encoded);
    at = found[i].end;
  }
  out.append(bytes, at, std::string::npos);
  if (found.empty()) out.append(encoded);
  bytes.swap(out);
  changed = true;
  return true;
}

bool find_top_level_bytes(std::string_view bytes, std::uint32_t number, std::string_view& value,
                          std::string& error) {
  value = {};
  reader in(bytes.data(), bytes.data() + bytes.size(), bytes.data());
  while (!in.at_end()) {
    field f;
    if (!in.read(f)) {
      error = in.error();
      return false;
    }
    if (f.number == number && f.type == wire_type::length_delimited) value = f.payload();
  }
  return true;
}

}  // namespace s2s::translation::wire
