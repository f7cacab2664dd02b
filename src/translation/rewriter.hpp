// The wire rewriter: walks protobuf bytes guided by a plan, copying unchanged spans and rewriting only the
// strings that change and the length prefixes above them. No message objects are built.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "translation/plan.hpp"
#include "translation/status.hpp"

namespace s2s::translation {

// Identifies the namespace whose search-attribute mapping applies below a message; no_scope = none.
using scope_id = int;
inline constexpr scope_id no_scope = -1;

// Decides the fate of each string the plan marks. Implementations are the translators.
class leaf_rewriter {
 public:
  virtual ~leaf_rewriter() = default;
  // The scope opened by a message naming its namespace; `name` or `id` may be empty, never both.
  virtual scope_id resolve_scope(std::string_view name, std::string_view id) = 0;
  // Returns true and fills `out` only when `value` must be replaced by something different.
  virtual bool rewrite(const field_step& step, std::string_view value, scope_id scope, std::string& out) = 0;
};

// Rewrites `bytes` (a message of plan.type) in place. Returns an INVALID_ARGUMENT status saying what is
// malformed and where when the walked part is not valid protobuf; `changed` says whether bytes differ.
status rewrite_message(const plan_set& plans, const message_plan& plan, std::string& bytes, leaf_rewriter& leaves,
                       scope_id initial_scope, bool& changed);

// Finds the scope a message opens by its own namespace fields, or `inherited` when it names none.
// Returns false with `error` on malformed input.
bool find_message_scope(std::string_view bytes, const scope_fields& fields, leaf_rewriter& leaves, scope_id inherited,
                        scope_id& found, std::string& error);

}  // namespace s2s::translation
