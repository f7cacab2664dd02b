// gRPC's use of HTTP/2 headers: the request head, response headers, trailers and trailers-only responses.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "http2/events.hpp"
#include "http2/grpc_status.hpp"

namespace s2s::http2 {

// What a proxy needs to know of a request; every other header rides along in `metadata`.
struct request_head {
  std::string scheme = "http";
  std::string authority;
  std::string path;  // "/package.Service/Method"
  std::optional<std::chrono::nanoseconds> timeout;
  // In arrival order, unchanged: content-type, user-agent, grpc-encoding, custom and -bin keys.
  // Without pseudo-headers, te and grpc-timeout, which request_headers() writes itself.
  header_list metadata;
};

// Checks a request the way a gRPC server must (POST, a path, content-type application/grpc...).
// On failure, the status to answer with in a trailers-only response.
// Takes the headers by value: given an rvalue, the metadata's strings move into the head.
std::variant<request_head, status> parse_request(header_list headers);

// The request headers to send on (give it an authority: nghttp2 servers, ours too, reset a
// request without one): `remaining` is the time left of the caller's deadline
// (re-emitted as grpc-timeout), nothing when the call has none.
header_list request_headers(request_head head, std::optional<std::chrono::nanoseconds> remaining);

// Response headers: :status 200 and the given metadata (content-type application/grpc unless it has one).
header_list response_headers(header_list metadata = {});
// Trailers ending a call: grpc-status, grpc-message (percent-encoded, omitted when empty), then metadata,
// which may hold grpc-status-details-bin.
header_list trailers(const status& s, header_list metadata = {});
// A response that is only trailers (respond() with end_stream): the headers of both in one block.
header_list trailers_only(const status& s, header_list metadata = {});

// An error status when response headers cannot start a gRPC response (:status other than 200,
// from its HTTP mapping; a content-type that is not gRPC, UNKNOWN); nothing when they can.
std::optional<status> check_response(const header_list& headers);
// The status that trailers (or a trailers-only response) carry; when grpc-status is missing,
// what :status implies, or UNKNOWN. The message is decoded for reading; forward the headers themselves.
status status_of(const header_list& trailers);

// The first value of `name`, or nothing.
std::optional<std::string_view> find_header(const header_list& headers, std::string_view name);

}  // namespace s2s::http2
