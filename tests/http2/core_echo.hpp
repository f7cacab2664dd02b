// The EchoService on the HTTP/2 core: a server that answers as each request asks, and a client
// that runs calls and gathers their outcome. Used in memory and over TCP against grpc++.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "http2/connection.hpp"
#include "http2/grpc_headers.hpp"
#include "http2/grpc_message.hpp"
#include "s2s/testing/v1/echo.pb.h"

namespace s2s::http2::testing {

// Base64 as gRPC writes -bin header values (padded; receivers accept either).
std::string base64_encode(std::string_view bytes);

class core_echo_server {
 public:
  explicit core_echo_server(connection& c) : conn_(c) {}
  // Every event of the server connection goes here.
  void on_event(const event& e);

  // What the calls looked like, for tests to check.
  std::vector<request_head> requests;
  std::vector<stream_reset> resets;

 private:
  struct call {
    std::string method;
    std::optional<std::chrono::nanoseconds> timeout;
    message_reader reader;
    bool responded = false;
    bool finished = false;
    std::uint32_t sequence = 0;
    std::vector<s2s::testing::v1::EchoRequest> received;
  };
  void on_request(stream_id id, const header_list& headers, bool end_stream);
  void on_message(stream_id id, call& c, const s2s::testing::v1::EchoRequest& request);
  void on_end(stream_id id, call& c);
  void send_response(stream_id id, call& c, const s2s::testing::v1::EchoResponse& response);
  void finish(stream_id id, call& c, const status& s, const std::string& details = {});

  connection& conn_;
  std::map<stream_id, call> calls_;
};

struct call_outcome {
  header_list response_headers;
  header_list trailers;
  std::vector<s2s::testing::v1::EchoResponse> responses;
  std::optional<status> result;  // set once the call is over
  std::optional<stream_reset> reset;
};

class core_echo_client {
 public:
  explicit core_echo_client(connection& c) : conn_(c) {}
  // Opens a call to "/s2s.testing.v1.EchoService/<method>" and sends `requests`; with
  // `end`, half-closes after them. Returns the stream, 0 if it could not open.
  stream_id start(const std::string& method, const std::vector<s2s::testing::v1::EchoRequest>& requests,
                  bool end = true, std::optional<std::chrono::nanoseconds> timeout = std::nullopt,
                  const header_list& metadata = {});
  void send(stream_id id, const s2s::testing::v1::EchoRequest& request, bool end);
  void on_event(const event& e);
  const call_outcome& outcome(stream_id id) { return calls_[id].outcome; }
  bool done(stream_id id) { return calls_[id].outcome.result.has_value(); }

 private:
  struct call {
    message_reader reader;
    call_outcome outcome;
  };
  connection& conn_;
  std::map<stream_id, call> calls_;
};

}  // namespace s2s::http2::testing
