// The names of gRPC status codes, as grpc's own documents and tools spell them.
#pragma once

#include <string_view>

namespace s2s::rpc {

inline constexpr int status_code_count = 17;  // OK .. UNAUTHENTICATED

// "UNIMPLEMENTED" for 12; "UNKNOWN" for a code outside the list.
inline std::string_view status_code_name(int code) {
  static constexpr std::string_view names[status_code_count] = {
      "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
      "DATA_LOSS", "UNAUTHENTICATED"};
  return code >= 0 && code < status_code_count ? names[code] : "UNKNOWN";
}

}  // namespace s2s::rpc
