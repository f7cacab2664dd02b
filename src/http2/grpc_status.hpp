// gRPC status codes, and how HTTP/2 and HTTP failures map onto them (gRPC's PROTOCOL-HTTP2 and
// http-grpc-status-mapping documents).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace s2s::http2 {

enum class status_code : std::uint32_t {
  ok = 0,
  cancelled = 1,
  unknown = 2,
  invalid_argument = 3,
  deadline_exceeded = 4,
  not_found = 5,
  already_exists = 6,
  permission_denied = 7,
  resource_exhausted = 8,
  failed_precondition = 9,
  aborted = 10,
  out_of_range = 11,
  unimplemented = 12,
  internal = 13,
  unavailable = 14,
  data_loss = 15,
  unauthenticated = 16,
};

// A call's outcome; `message` is plain text (the grpc-message header carries it percent-encoded).
struct status {
  status_code code = status_code::ok;
  std::string message;
  bool ok() const { return code == status_code::ok; }
};

// "RESOURCE_EXHAUSTED", ... ; "CODE_<n>" for a number outside the table.
std::string code_name(status_code code);

// The status of a call whose stream was reset with this HTTP/2 error code (RST_STREAM, or a
// GOAWAY that took the stream down). REFUSED_STREAM is UNAVAILABLE: nothing was processed and
// the call may be retried; CANCEL is CANCELLED; ENHANCE_YOUR_CALM is RESOURCE_EXHAUSTED;
// INADEQUATE_SECURITY is PERMISSION_DENIED; the rest are INTERNAL.
status_code status_for_http2_error(std::uint32_t error_code);

// The status of a response that has no grpc-status, from its HTTP :status (a proxy or server
// that does not speak gRPC answered).
status_code status_for_http_status(int http_status);

// grpc-message encoding: bytes outside printable ASCII, and '%', become %XX.
std::string percent_encode(std::string_view text);
// The reverse; a malformed escape is kept as it is, as gRPC asks of receivers.
std::string percent_decode(std::string_view text);

}  // namespace s2s::http2
