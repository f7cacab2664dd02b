// Errors as values: a gRPC status code with a message a person can act on, and result<T> for fallible builds.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace s2s::translation {

// The gRPC status codes this module produces; numerically equal to grpc::StatusCode.
enum class status_code : int {
  ok = 0,
  invalid_argument = 3,
  not_found = 5,
  permission_denied = 7,
  failed_precondition = 9,
  internal = 13,
};

std::string_view to_string(status_code code);

// What a call ends with when a filter refuses a message.
struct status {
  status() = default;
  status(status_code code, std::string message, std::string details = {})  // NOLINT(google-explicit-constructor)
      : code(code), message(std::move(message)), details(std::move(details)) {}

  status_code code = status_code::ok;
  std::string message;
  std::string details;  // a serialized google.rpc.Status for grpc-status-details-bin; empty: none

  bool ok() const { return code == status_code::ok; }
};

// A value or the reason there is none (for building schemas, plans and pipelines).
template <class T>
class result {
 public:
  result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  static result failure(std::string message) { return result(std::nullopt, std::move(message)); }

  explicit operator bool() const { return value_.has_value(); }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  const std::string& error() const { return error_; }

 private:
  result(std::nullopt_t, std::string message) : error_(std::move(message)) {}
  std::optional<T> value_;
  std::string error_;
};

}  // namespace s2s::translation
