// The EchoService server and client on the HTTP/2 core, with the gRPC layer doing the framing.
#include "core_echo.hpp"

#include "http2/grpc_timeout.hpp"

namespace s2s::http2::testing {
namespace {

using s2s::testing::v1::EchoRequest;
using s2s::testing::v1::EchoResponse;

std::vector<std::uint8_t> framed(const google::protobuf::MessageLite& m) {
  const std::string bytes = m.SerializeAsString();
  std::vector<std::uint8_t> out;
  append_message(out, 0, {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
  return out;
}

std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    s[i] = static_cast<char>(i % 251);
  return s;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto n = (std::uint32_t(std::uint8_t(bytes[i])) << 16) | (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8) |
                   std::uint8_t(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0})
      out.push_back(table[(n >> shift) & 63]);
  }
  if (i < bytes.size()) {
    std::uint32_t n = std::uint32_t(std::uint8_t(bytes[i])) << 16;
    if (i + 1 < bytes.size())
      n |= std::uint32_t(std::uint8_t(bytes[i + 1])) << 8;
    out.push_back(table[(n >> 18) & 63]);
    out.push_back(table[(n >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? table[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

void core_echo_server::on_event(const event& e) {
  if (const auto* h = std::get_if<headers_received>(&e)) {
    if (h->kind == header_kind::request) {
      on_request(h->id, h->headers, h->end_stream);
    } else if (h->kind == header_kind::trailers) {
      if (auto it = calls_.find(h->id); it != calls_.end())
        on_end(h->id, it->second);
    }
  } else if (const auto* d = std::get_if<data_received>(&e)) {
    conn_.consume(d->id, d->bytes.size());
    auto it = calls_.find(d->id);
    if (it == calls_.end())
      return;
    auto& c = it->second;
    if (c.finished)
      return;
    if (auto error = c.reader.feed(d->bytes)) {
      finish(d->id, c, *error);
      return;
    }
    while (auto m = c.reader.next()) {
      EchoRequest request;
      if (!request.ParseFromArray(m->payload.data(), static_cast<int>(m->payload.size()))) {
        finish(d->id, c, {status_code::internal, "unparseable EchoRequest"});
        return;
      }
      on_message(d->id, c, request);
      if (c.finished)
        return;
    }
    if (d->end_stream)
      on_end(d->id, c);
  } else if (const auto* r = std::get_if<stream_reset>(&e)) {
    resets.push_back(*r);
    calls_.erase(r->id);
  } else if (const auto* closed = std::get_if<stream_closed>(&e)) {
    calls_.erase(closed->id);
  }
}

void core_echo_server::on_request(stream_id id, const header_list& headers, bool end_stream) {
  auto parsed = parse_request(headers);
  if (auto* error = std::get_if<status>(&parsed)) {
    conn_.respond(id, trailers_only(*error), true);
    return;
  }
  auto& head = std::get<request_head>(parsed);
  requests.push_back(head);
  auto& c = calls_[id];
  c.method = head.path.substr(head.path.rfind('/') + 1);
  c.timeout = head.timeout;
  if (end_stream)
    on_end(id, c);
}

void core_echo_server::send_response(stream_id id, call& c, const EchoResponse& response) {
  if (!c.responded) {
    conn_.respond(id, response_headers(), false);
    c.responded = true;
  }
  conn_.send_data(id, framed(response));
}

void core_echo_server::finish(stream_id id, call& c, const status& s, const std::string& details) {
  if (c.finished)
    return;
  c.finished = true;
  header_list extra;
  if (!details.empty())
    extra.push_back({"grpc-status-details-bin", base64_encode(details)});
  if (c.responded) {
    conn_.send_trailers(id, trailers(s, extra));
  } else {
    conn_.respond(id, trailers_only(s, extra), true);
  }
}

void core_echo_server::on_message(stream_id id, call& c, const EchoRequest& request) {
  c.received.push_back(request);
  if (c.method != "Bidi")
    return;
  if (request.has_error()) {
    finish(id, c, {static_cast<status_code>(request.error().code()), request.error().message()},
           request.error().details());
    return;
  }
  EchoResponse response;
  response.set_payload(request.response_bytes() ? pattern(request.response_bytes()) : request.payload());
  response.set_sequence(c.sequence++);
  send_response(id, c, response);
}

void core_echo_server::on_end(stream_id id, call& c) {
  if (c.finished)
    return;
  if (auto error = c.reader.finish()) {
    finish(id, c, *error);
    return;
  }
  if (c.method == "Bidi") {
    finish(id, c, {});
    return;
  }
  if (c.received.empty()) {
    finish(id, c, {status_code::internal, "no request message"});
    return;
  }
  const auto& first = c.received.front();
  const auto remaining_ms = c.timeout ? std::chrono::duration_cast<std::chrono::milliseconds>(*c.timeout).count() : -1;
  const std::uint32_t count = c.method == "ServerStream" && first.stream_count() ? first.stream_count() : 1;
  if (first.has_error() && c.method != "ServerStream") {
    finish(id, c, {static_cast<status_code>(first.error().code()), first.error().message()}, first.error().details());
    return;
  }
  for (std::uint32_t i = 0; i < count; ++i) {
    EchoResponse response;
    if (first.response_bytes()) {
      response.set_payload(pattern(first.response_bytes()));
    } else if (c.method == "ClientStream") {
      std::string all;
      for (const auto& r : c.received)
        all += r.payload();
      response.set_payload(all);
      response.set_requests_received(static_cast<std::uint32_t>(c.received.size()));
    } else {
      response.set_payload(first.payload());
    }
    response.set_deadline_remaining_ms(remaining_ms);
    response.set_sequence(i);
    send_response(id, c, response);
  }
  if (first.has_error()) {
    finish(id, c, {static_cast<status_code>(first.error().code()), first.error().message()}, first.error().details());
    return;
  }
  finish(id, c, {});
}

stream_id core_echo_client::start(const std::string& method, const std::vector<EchoRequest>& requests, bool end,
                                  std::optional<std::chrono::nanoseconds> timeout, const header_list& metadata) {
  request_head head;
  head.authority = "echo.test";
  head.path = "/s2s.testing.v1.EchoService/" + method;
  head.metadata = metadata;
  const auto opened = conn_.open_stream(request_headers(head, timeout), false);
  if (!opened)
    return 0;
  calls_[opened.id];
  for (std::size_t i = 0; i < requests.size(); ++i)
    send(opened.id, requests[i], end && i + 1 == requests.size());
  if (end && requests.empty())
    conn_.send_data(opened.id, {}, true);
  return opened.id;
}

void core_echo_client::send(stream_id id, const EchoRequest& request, bool end) {
  conn_.send_data(id, framed(request), end);
}

void core_echo_client::on_event(const event& e) {
  if (const auto* h = std::get_if<headers_received>(&e)) {
    auto& c = calls_[h->id];
    if (h->kind == header_kind::response && !h->end_stream) {
      c.outcome.response_headers = h->headers;
      if (auto error = check_response(h->headers)) {
        c.outcome.result = *error;
        conn_.reset(h->id, error_code::cancel);
      }
    } else if (h->end_stream) {
      c.outcome.trailers = h->headers;
      if (!c.outcome.result)
        c.outcome.result = status_of(h->headers);
    }
  } else if (const auto* d = std::get_if<data_received>(&e)) {
    conn_.consume(d->id, d->bytes.size());
    auto& c = calls_[d->id];
    if (c.outcome.result)
      return;
    if (auto error = c.reader.feed(d->bytes)) {
      c.outcome.result = *error;
      conn_.reset(d->id, error_code::cancel);
      return;
    }
    while (auto m = c.reader.next()) {
      EchoResponse response;
      response.ParseFromArray(m->payload.data(), static_cast<int>(m->payload.size()));
      c.outcome.responses.push_back(std::move(response));
    }
  } else if (const auto* r = std::get_if<stream_reset>(&e)) {
    auto& c = calls_[r->id];
    c.outcome.reset = *r;
    if (!c.outcome.result) {
      c.outcome.result =
          status{status_for_http2_error(r->code), "stream reset with HTTP/2 error " + std::to_string(r->code)};
    }
  }
}

}  // namespace s2s::http2::testing
