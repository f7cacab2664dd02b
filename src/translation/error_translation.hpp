// Temporal's errors on the wire: mapped names in a status message's text, and the detail messages of
// grpc-status-details-bin (a google.rpc.Status whose details are google.protobuf.Any), rewritten by their plans.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "translation/plan.hpp"
#include "translation/rewriter.hpp"
#include "translation/schema.hpp"
#include "translation/status.hpp"

namespace s2s::translation {

// Replaces, in `text`, every occurrence of a key of `maps` that stands as a whole word by its value: the
// characters around it are not name characters (letters, digits, '-', '_', '.'), except that a '.' ending a
// sentence ("... orders.") is no part of the name. "orders" is thus replaced in `Namespace orders is not found.`
// and `"orders"`, never in "orders-b" or "orders.acct42". Keys are tried longest first at each position; a
// replacement is never looked into again. Returns the number of names replaced; `out` holds the new text then.
std::size_t replace_names_in_text(std::string_view text, const std::vector<const string_map<std::string>*>& maps,
                                  std::string& out);

// What a status message becomes: the number of names replaced, `out` holding the new text when not zero.
using text_rewrite = std::function<std::size_t(std::string_view text, std::string& out)>;

// Rewrites a serialized google.rpc.Status in place: its message by `text`, and each detail whose type the
// schema knows by that type's plan (`leaves` decide the strings, as in a message body). Other details, unknown
// fields and an unknown detail type pass as they are. INVALID_ARGUMENT saying what is malformed on bad input.
status rewrite_status_details(std::string& bytes, const schema& types, const plan_set& plans, leaf_rewriter& leaves,
                              scope_id scope, const text_rewrite& text, bool& changed);

// A google.rpc.Status with one detail: `detail_value` serialized as the message type `detail_type`.
std::string encode_status_details(int code, std::string_view message, std::string_view detail_type,
                                  std::string_view detail_value);

}  // namespace s2s::translation
