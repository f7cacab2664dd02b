// Temporal's errors on the wire: mapped names in a status message's text, and the detail messages of
// grpc-status-details-bin (a google.rpc.Status whose details are google.protobuf.Any), rewritten by their plans.
#include "translation/error_translation.hpp"

#include <algorithm>

#include "translation/wire.hpp"

namespace s2s::translation {
namespace {

// google.rpc.Status and google.protobuf.Any, as published by googleapis and protobuf.
constexpr std::uint32_t status_code_field = 1;
constexpr std::uint32_t status_message_field = 2;
constexpr std::uint32_t status_details_field = 3;
constexpr std::uint32_t any_type_url_field = 1;
constexpr std::uint32_t any_value_field = 2;
constexpr std::string_view any_type_prefix = "type.googleapis.com/";

bool is_name_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

// Whether text[begin, end) stands as a whole word.
bool whole_word(std::string_view text, std::size_t begin, std::size_t end) {
  if (begin > 0 && is_name_character(text[begin - 1]))
    return false;
  if (end == text.size() || !is_name_character(text[end]))
    return true;
  // A full stop right after the name, ending the text or followed by something that is no name.
  return text[end] == '.' && (end + 1 == text.size() || !is_name_character(text[end + 1]));
}

struct match {
  std::size_t at = 0;
  std::size_t length = 0;
  const std::string* replacement = nullptr;
};

void append_length_delimited(std::string& out, std::uint32_t number, std::string_view payload) {
  wire::append_tag(out, number, wire::wire_type::length_delimited);
  wire::append_varint(out, payload.size());
  out.append(payload);
}

// The Any's value rewritten by its type's plan; false with `problem` set on malformed input.
bool rewrite_any(const wire::field& detail, const schema& types, const plan_set& plans, leaf_rewriter& leaves,
                 scope_id scope, std::string& out, bool& changed, status& problem) {
  std::string_view bytes = detail.payload();
  wire::reader scan(bytes.data(), bytes.data() + bytes.size(), bytes.data());
  std::string_view type_url;
  while (!scan.at_end()) {
    wire::field f;
    if (!scan.read(f)) {
      problem = {status_code::invalid_argument, "malformed google.protobuf.Any in the error details: " + scan.error()};
      return false;
    }
    if (f.number == any_type_url_field && f.type == wire::wire_type::length_delimited)
      type_url = f.payload();
  }
  auto slash = type_url.rfind('/');
  std::string_view type_name = slash == std::string_view::npos ? type_url : type_url.substr(slash + 1);
  const google::protobuf::Descriptor* type = type_name.empty() ? nullptr : types.find_message(type_name);
  const message_plan* plan = type == nullptr ? nullptr : plans.find(type);
  if (plan == nullptr)
    return true;

  std::string rewritten;
  wire::reader in(bytes.data(), bytes.data() + bytes.size(), bytes.data());
  bool any_changed = false;
  while (!in.at_end()) {
    wire::field f;
    in.read(f);  // already validated by the scan
    if (f.number != any_value_field || f.type != wire::wire_type::length_delimited) {
      rewritten.append(f.begin, f.end);
      continue;
    }
    std::string value(f.payload());
    bool value_changed = false;
    status outcome = rewrite_message(plans, *plan, value, leaves, scope, value_changed);
    if (!outcome.ok()) {
      problem = {outcome.code, "in the error detail " + std::string(type_name) + ": " + outcome.message};
      return false;
    }
    if (!value_changed) {
      rewritten.append(f.begin, f.end);
      continue;
    }
    any_changed = true;
    append_length_delimited(rewritten, any_value_field, value);
  }
  if (!any_changed)
    return true;
  changed = true;
  append_length_delimited(out, status_details_field, rewritten);
  return true;
}

}  // namespace

std::size_t replace_names_in_text(std::string_view text, const std::vector<const string_map<std::string>*>& maps,
                                  std::string& out) {
  std::vector<match> found;
  for (const auto* names : maps) {
    if (names == nullptr)
      continue;
    for (const auto& [name, replacement] : *names) {
      if (name.empty() || name == replacement)
        continue;
      for (std::size_t at = text.find(name); at != std::string_view::npos; at = text.find(name, at + 1)) {
        if (whole_word(text, at, at + name.size()))
          found.push_back({at, name.size(), &replacement});
      }
    }
  }
  if (found.empty())
    return 0;
  std::sort(found.begin(), found.end(),
            [](const match& a, const match& b) { return a.at != b.at ? a.at < b.at : a.length > b.length; });
  out.clear();
  std::size_t copied = 0;
  std::size_t replaced = 0;
  for (const match& m : found) {
    if (m.at < copied)
      continue;  // overlaps a name already replaced
    out.append(text.substr(copied, m.at - copied));
    out.append(*m.replacement);
    copied = m.at + m.length;
    ++replaced;
  }
  out.append(text.substr(copied));
  return replaced;
}

status rewrite_status_details(std::string& bytes, const schema& types, const plan_set& plans, leaf_rewriter& leaves,
                              scope_id scope, const text_rewrite& text, bool& changed) {
  changed = false;
  std::string out;
  out.reserve(bytes.size() + 16);
  wire::reader in(bytes.data(), bytes.data() + bytes.size(), bytes.data());
  std::string new_text;
  while (!in.at_end()) {
    wire::field f;
    if (!in.read(f)) {
      return {status_code::invalid_argument, "malformed google.rpc.Status in the error details (" +
                                                 std::to_string(bytes.size()) + " bytes): " + in.error()};
    }
    if (f.type == wire::wire_type::length_delimited && f.number == status_message_field &&
        text(f.payload(), new_text) != 0) {
      changed = true;
      append_length_delimited(out, status_message_field, new_text);
      continue;
    }
    if (f.type == wire::wire_type::length_delimited && f.number == status_details_field) {
      bool detail_changed = false;
      status problem;
      if (!rewrite_any(f, types, plans, leaves, scope, out, detail_changed, problem))
        return problem;
      if (detail_changed) {
        changed = true;
        continue;
      }
    }
    out.append(f.begin, f.end);
  }
  if (changed)
    bytes.swap(out);
  return {};
}

std::string encode_status_details(int code, std::string_view message, std::string_view detail_type,
                                  std::string_view detail_value) {
  std::string any;
  append_length_delimited(any, any_type_url_field, std::string(any_type_prefix) + std::string(detail_type));
  append_length_delimited(any, any_value_field, detail_value);
  std::string out;
  if (code != 0) {
    wire::append_tag(out, status_code_field, wire::wire_type::varint);
    wire::append_varint(out, static_cast<std::uint64_t>(code));
  }
  append_length_delimited(out, status_message_field, message);
  append_length_delimited(out, status_details_field, any);
  return out;
}

}  // namespace s2s::translation
