// Building and checking the header blocks of gRPC calls.
#include "http2/grpc_headers.hpp"

#include <charconv>
#include <iterator>
#include <utility>

#include "http2/grpc_timeout.hpp"

namespace s2s::http2 {
namespace {

bool is_grpc_content_type(std::string_view value) {
  // "application/grpc", optionally followed by "+proto", ";charset=..." and the like.
  constexpr std::string_view base = "application/grpc";
  return value.starts_with(base) &&
         (value.size() == base.size() || value[base.size()] == '+' || value[base.size()] == ';');
}

std::optional<int> http_status(const header_list& headers) {
  const auto value = find_header(headers, ":status");
  if (!value)
    return std::nullopt;
  int n = 0;
  const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
  if (ec != std::errc() || end != value->data() + value->size())
    return std::nullopt;
  return n;
}

}  // namespace

std::optional<std::string_view> find_header(const header_list& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (h.name == name)
      return std::string_view(h.value);
  }
  return std::nullopt;
}

std::variant<request_head, status> parse_request(header_list headers) {
  request_head head;
  head.metadata.reserve(headers.size());
  std::optional<std::string_view> method;
  bool content_type_ok = false;
  for (auto& h : headers) {
    if (h.name == ":method") {
      method = h.value;
    } else if (h.name == ":scheme") {
      head.scheme = h.value;
    } else if (h.name == ":authority") {
      head.authority = h.value;
    } else if (h.name == ":path") {
      head.path = h.value;
    } else if (h.name == "te") {
      // Always "trailers" on the way out; request_headers() writes it.
    } else if (h.name == "grpc-timeout") {
      head.timeout = parse_timeout(h.value);
      if (!head.timeout)
        return status{status_code::internal, "malformed grpc-timeout '" + h.value + "'"};
    } else if (!h.name.starts_with(':')) {
      if (h.name == "content-type")
        content_type_ok = is_grpc_content_type(h.value);
      head.metadata.push_back(std::move(h));  // after the views above: only pseudo-headers are viewed
    }
  }
  if (method != "POST") {
    return status{status_code::internal, "gRPC requests use POST, not '" + std::string(method.value_or("")) + "'"};
  }
  if (!head.path.starts_with('/'))
    return status{status_code::unimplemented, "request without a method path"};
  if (!content_type_ok)
    return status{status_code::internal, "content-type is not application/grpc"};
  return head;
}

header_list request_headers(request_head head, std::optional<std::chrono::nanoseconds> remaining) {
  header_list out;
  out.reserve(7 + head.metadata.size());
  out.push_back({":method", "POST"});
  out.push_back({":scheme", std::move(head.scheme)});
  out.push_back({":path", std::move(head.path)});
  if (!head.authority.empty())
    out.push_back({":authority", std::move(head.authority)});
  out.push_back({"te", "trailers"});
  if (remaining)
    out.push_back({"grpc-timeout", format_timeout(*remaining)});
  if (!find_header(head.metadata, "content-type"))
    out.push_back({"content-type", "application/grpc"});
  out.insert(out.end(), std::make_move_iterator(head.metadata.begin()), std::make_move_iterator(head.metadata.end()));
  return out;
}

header_list response_headers(header_list metadata) {
  header_list out;
  out.reserve(2 + metadata.size());
  out.push_back({":status", "200"});
  if (!find_header(metadata, "content-type"))
    out.push_back({"content-type", "application/grpc"});
  out.insert(out.end(), std::make_move_iterator(metadata.begin()), std::make_move_iterator(metadata.end()));
  return out;
}

header_list trailers(const status& s, header_list metadata) {
  header_list out;
  out.reserve(2 + metadata.size());
  out.push_back({"grpc-status", std::to_string(static_cast<std::uint32_t>(s.code))});
  if (!s.message.empty())
    out.push_back({"grpc-message", percent_encode(s.message)});
  out.insert(out.end(), std::make_move_iterator(metadata.begin()), std::make_move_iterator(metadata.end()));
  return out;
}

header_list trailers_only(const status& s, header_list metadata) {
  header_list out = response_headers();
  auto end = trailers(s, std::move(metadata));
  out.insert(out.end(), std::make_move_iterator(end.begin()), std::make_move_iterator(end.end()));
  return out;
}

std::optional<status> check_response(const header_list& headers) {
  const auto code = http_status(headers);
  if (!code)
    return status{status_code::internal, "response without a valid :status"};
  if (*code != 200) {
    return status{status_for_http_status(*code),
                  "HTTP status " + std::to_string(*code) + " instead of a gRPC response"};
  }
  const auto type = find_header(headers, "content-type");
  if (!type || !is_grpc_content_type(*type)) {
    return status{status_code::unknown, "response content-type is not application/grpc"};
  }
  return std::nullopt;
}

status status_of(const header_list& headers) {
  const auto value = find_header(headers, "grpc-status");
  if (!value) {
    const auto code = http_status(headers);
    if (code && *code != 200) {
      return {status_for_http_status(*code), "HTTP status " + std::to_string(*code) + " without grpc-status"};
    }
    return {status_code::unknown, "the call ended without grpc-status"};
  }
  std::uint32_t n = 0;
  const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
  if (ec != std::errc() || end != value->data() + value->size()) {
    return {status_code::unknown, "malformed grpc-status '" + std::string(*value) + "'"};
  }
  const auto message = find_header(headers, "grpc-message");
  return {static_cast<status_code>(n), message ? percent_decode(*message) : std::string()};
}

}  // namespace s2s::http2
