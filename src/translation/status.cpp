// Errors as values: a gRPC status code with a message a person can act on, and result<T> for fallible builds.
#include "translation/status.hpp"

namespace s2s::translation {

std::string_view to_string(status_code code) {
  switch (code) {
    case status_code::ok:
      return "OK";
    case status_code::invalid_argument:
      return "INVALID_ARGUMENT";
    case status_code::not_found:
      return "NOT_FOUND";
    case status_code::permission_denied:
      return "PERMISSION_DENIED";
    case status_code::failed_precondition:
      return "FAILED_PRECONDITION";
    case status_code::internal:
      return "INTERNAL";
  }
  return "UNKNOWN";
}

}  // namespace s2s::translation
