// The live actors per kind (see census.hpp).
#include "actors/runtime/census.hpp"

namespace s2s::actors::census {

std::string_view label(kind k) {
  switch (k) {
    case kind::supervisor:
      return "supervisor";
    case kind::listener:
      return "listener";
    case kind::call:
      return "call";
    case kind::upstream:
      return "upstream";
    case kind::mux_connection:
      return "mux_connection";
    case kind::mux_session:
      return "mux_session";
    case kind::mux_upstream:
      return "mux_upstream";
    case kind::membership:
      return "membership";
    case kind::routing_hub:
      return "routing_hub";
    case kind::schema:
      return "schema";
    case kind::schema_fetch:
      return "schema_fetch";
  }
  return "unknown";
}

std::int64_t total() {
  std::int64_t sum = 0;
  for (std::size_t index = 0; index < kinds; ++index)
    sum += live(static_cast<kind>(index));
  return sum;
}

std::string describe_live() {
  std::string text;
  for (std::size_t index = 0; index < kinds; ++index) {
    auto k = static_cast<kind>(index);
    if (auto count = live(k); count != 0) {
      if (!text.empty())
        text += ", ";
      text += std::to_string(count) + " " + std::string(label(k));
    }
  }
  return text;
}

}  // namespace s2s::actors::census
