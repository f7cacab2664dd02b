// The wire rewriter: walks protobuf bytes guided by a plan, copying unchanged spans and rewriting only the
// strings that change and the length prefixes above them. No message objects are built.
#include "translation/rewriter.hpp"

#include <algorithm>
#include <vector>

#include "translation/wire.hpp"

namespace s2s::translation {
namespace {

bool listed(const std::vector<std::uint32_t>& numbers, std::uint32_t number) {
  return std::find(numbers.begin(), numbers.end(), number) != numbers.end();
}

bool scan_scope(wire::reader& in, const scope_fields& fields, leaf_rewriter& leaves, scope_id inherited,
                scope_id& found, std::string& error) {
  std::string_view name, id;
  while (!in.at_end()) {
    wire::field f;
    if (!in.read(f)) {
      error = in.error();
      return false;
    }
    if (f.type != wire::wire_type::length_delimited)
      continue;
    if (listed(fields.names, f.number))
      name = f.payload();
    if (listed(fields.ids, f.number))
      id = f.payload();
  }
  found = name.empty() && id.empty() ? inherited : leaves.resolve_scope(name, id);
  return true;
}

// A replacement of bytes [begin, end) of the input by bytes of the walker's replacement buffer.
// Edits are kept in input order and never overlap.
struct edit {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t replacement_at = 0;
  std::size_t replacement_size = 0;
};

class walker {
 public:
  walker(const plan_set& plans, const char* origin, leaf_rewriter& leaves)
      : plans_(plans), origin_(origin), leaves_(leaves) {}

  bool walk_message(const message_plan& plan, const char* begin, const char* end, scope_id scope, int depth,
                    std::int64_t& delta);

  const std::vector<edit>& edits() const { return edits_; }
  std::string_view replacement(const edit& e) const {
    return std::string_view(replacements_).substr(e.replacement_at, e.replacement_size);
  }
  // "what is wrong (in field.path)".
  std::string error() const {
    std::string path;
    for (auto it = path_.rbegin(); it != path_.rend(); ++it) {
      if (!path.empty())
        path += '.';
      path += *it;
    }
    return path.empty() ? error_ : error_ + " (in " + path + ")";
  }

 private:
  using content_walk = bool (walker::*)(const field_step&, const char*, const char*, scope_id, int, std::int64_t&);

  bool walk_blob(const field_step& step, const char* begin, const char* end, scope_id scope, int depth,
                 std::int64_t& delta);
  bool walk_child(const field_step& step, const char* begin, const char* end, scope_id scope, int depth,
                  std::int64_t& delta) {
    return walk_message(*step.child, begin, end, scope, depth, delta);
  }
  // Walks a length-delimited field's payload and rewrites its length prefix when the payload's size changed.
  bool nested(const field_step& step, const wire::field& f, scope_id scope, int depth, std::int64_t& delta,
              content_walk content);
  void rewrite_string(const field_step& step, const wire::field& f, scope_id scope, std::int64_t& delta);
  bool fail(std::string what) {
    error_ = std::move(what);
    return false;
  }
  bool fail_in(const field_step& step) {
    path_.push_back(step.field->name());
    return false;
  }

  const plan_set& plans_;
  const char* origin_;
  leaf_rewriter& leaves_;
  std::vector<edit> edits_;
  std::string replacements_;
  std::string scratch_;
  std::string error_;
  std::vector<std::string> path_;  // innermost first
};

bool walker::walk_message(const message_plan& plan, const char* begin, const char* end, scope_id scope, int depth,
                          std::int64_t& delta) {
  if (depth > wire::max_depth) {
    return fail("at byte " + std::to_string(begin - origin_) + ": messages nested deeper than " +
                std::to_string(wire::max_depth) + " levels");
  }
  if (!plan.scope.empty()) {
    wire::reader scan(begin, end, origin_, depth);
    if (!scan_scope(scan, plan.scope, leaves_, scope, scope, error_))
      return false;
  }
  wire::reader in(begin, end, origin_, depth);
  while (!in.at_end()) {
    wire::field f;
    if (!in.read(f))
      return fail(in.error());
    if (f.type != wire::wire_type::length_delimited)
      continue;
    const field_step* step = plan.find(f.number);
    if (step == nullptr)
      continue;
    switch (step->kind) {
      case step_kind::string:
        rewrite_string(*step, f, scope, delta);
        break;
      case step_kind::message:
        if (!nested(*step, f, scope, depth, delta, &walker::walk_child))
          return fail_in(*step);
        break;
      case step_kind::history_blob:
        if (!nested(*step, f, scope, depth, delta, &walker::walk_blob))
          return fail_in(*step);
        break;
    }
  }
  return true;
}

void walker::rewrite_string(const field_step& step, const wire::field& f, scope_id scope, std::int64_t& delta) {
  scratch_.clear();
  if (!leaves_.rewrite(step, f.payload(), scope, scratch_))
    return;
  edit e;
  e.begin = static_cast<std::size_t>(f.value_begin - origin_);
  e.end = static_cast<std::size_t>(f.end - origin_);
  e.replacement_at = replacements_.size();
  wire::append_varint(replacements_, scratch_.size());
  replacements_ += scratch_;
  e.replacement_size = replacements_.size() - e.replacement_at;
  delta += static_cast<std::int64_t>(e.replacement_size) - static_cast<std::int64_t>(e.end - e.begin);
  edits_.push_back(e);
}

bool walker::nested(const field_step& step, const wire::field& f, scope_id scope, int depth, std::int64_t& delta,
                    content_walk content) {
  std::size_t first_inner_edit = edits_.size();
  std::int64_t inner = 0;
  if (!(this->*content)(step, f.payload_begin, f.end, scope, depth + 1, inner))
    return false;
  if (inner == 0)
    return true;
  // The payload's size changed: its length prefix is rewritten, ahead of the edits inside it.
  auto old_length = static_cast<std::uint64_t>(f.end - f.payload_begin);
  auto new_length = static_cast<std::uint64_t>(static_cast<std::int64_t>(old_length) + inner);
  edit e;
  e.begin = static_cast<std::size_t>(f.value_begin - origin_);
  e.end = static_cast<std::size_t>(f.payload_begin - origin_);
  e.replacement_at = replacements_.size();
  wire::append_varint(replacements_, new_length);
  e.replacement_size = replacements_.size() - e.replacement_at;
  delta += inner + static_cast<std::int64_t>(e.replacement_size) - static_cast<std::int64_t>(e.end - e.begin);
  edits_.insert(edits_.begin() + static_cast<std::ptrdiff_t>(first_inner_edit), e);
  return true;
}

// A DataBlob: its data is walked as a History only when its encoding says PROTO3, wherever the
// encoding field sits among the blob's fields.
bool walker::walk_blob(const field_step& step, const char* begin, const char* end, scope_id scope, int depth,
                       std::int64_t& delta) {
  const data_blob_layout& layout = plans_.blob_layout();
  std::uint64_t encoding = 0;
  bool has_data = false;
  wire::reader scan(begin, end, origin_, depth);
  while (!scan.at_end()) {
    wire::field f;
    if (!scan.read(f))
      return fail(scan.error());
    if (f.number == layout.encoding_field && f.type == wire::wire_type::varint)
      encoding = f.varint;
    if (f.number == layout.data_field && f.type == wire::wire_type::length_delimited)
      has_data = true;
  }
  if (encoding != layout.proto3_encoding || !has_data)
    return true;
  wire::reader in(begin, end, origin_, depth);
  while (!in.at_end()) {
    wire::field f;
    in.read(f);  // already validated by the scan
    if (f.number != layout.data_field || f.type != wire::wire_type::length_delimited)
      continue;
    if (!nested(step, f, scope, depth, delta, &walker::walk_child)) {
      path_.push_back(std::string("data as ") + step.child->type->full_name());
      return false;
    }
  }
  return true;
}

}  // namespace

bool find_message_scope(std::string_view bytes, const scope_fields& fields, leaf_rewriter& leaves, scope_id inherited,
                        scope_id& found, std::string& error) {
  found = inherited;
  if (fields.empty())
    return true;
  wire::reader in(bytes.data(), bytes.data() + bytes.size(), bytes.data());
  return scan_scope(in, fields, leaves, inherited, found, error);
}

status rewrite_message(const plan_set& plans, const message_plan& plan, std::string& bytes, leaf_rewriter& leaves,
                       scope_id initial_scope, bool& changed) {
  changed = false;
  walker walk(plans, bytes.data(), leaves);
  std::int64_t delta = 0;
  if (!walk.walk_message(plan, bytes.data(), bytes.data() + bytes.size(), initial_scope, 0, delta)) {
    return {status_code::invalid_argument,
            "malformed " + plan.type->full_name() + " (" + std::to_string(bytes.size()) + " bytes) " + walk.error()};
  }
  // Leaf rewriters only replace strings that differ, so any edit is a change.
  const std::vector<edit>& edits = walk.edits();
  if (edits.empty())
    return {};
  std::string out;
  out.reserve(static_cast<std::size_t>(static_cast<std::int64_t>(bytes.size()) + delta));
  std::size_t at = 0;
  for (const edit& e : edits) {
    out.append(bytes, at, e.begin - at);
    out += walk.replacement(e);
    at = e.end;
  }
  out.append(bytes, at, std::string::npos);
  bytes.swap(out);
  changed = true;
  return {};
}

}  // namespace s2s::translation
