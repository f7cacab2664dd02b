// Status names and the HTTP/2 and HTTP mappings of gRPC's specification.
#include "http2/grpc_status.hpp"

#include <iterator>

#include "http2/events.hpp"

namespace s2s::http2 {

std::string code_name(status_code code) {
  static constexpr const char* names[] = {
      "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
      "DATA_LOSS", "UNAUTHENTICATED"};
  const auto n = static_cast<std::uint32_t>(code);
  return n < std::size(names) ? names[n] : "CODE_" + std::to_string(n);
}

status_code status_for_http2_error(std::uint32_t code) {
  switch (code) {
    case error_code::refused_stream:
      return status_code::unavailable;
    case error_code::cancel:
      return status_code::cancelled;
    case error_code::enhance_your_calm:
      return status_code::resource_exhausted;
    case error_code::inadequate_security:
      return status_code::permission_denied;
    default:
      return status_code::internal;
  }
}

status_code status_for_http_status(int http_status) {
  switch (http_status) {
    case 400:
      return status_code::internal;
    case 401:
      return status_code::unauthenticated;
    case 403:
      return status_code::permission_denied;
    case 404:
      return status_code::unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return status_code::unavailable;
    default:
      return status_code::unknown;
  }
}

std::string percent_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto b = static_cast<unsigned char>(ch);
    if (b >= 0x20 && b <= 0x7e && b != '%') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(hex[b >> 4]);
      out.push_back(hex[b & 0xf]);
    }
  }
  return out;
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

}  // namespace s2s::http2
