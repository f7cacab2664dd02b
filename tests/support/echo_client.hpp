// Channels to an echo server, plain or TLS, and one helper per call kind that gathers what a test checks.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/channel.h>
#include <grpcpp/support/status.h>

#include "s2s/testing/v1/echo.grpc.pb.h"

namespace s2s::testing {

using metadata_map = std::multimap<std::string, std::string>;

struct client_tls_files {
  std::filesystem::path root_ca;
  // Both empty: the client presents no certificate.
  std::filesystem::path certificate_chain;
  std::filesystem::path private_key;
  // The name checked against the server certificate; empty means the target's host.
  std::string server_name_override;
};

// A channel with the test message limit both ways and a subchannel of its own, so a test's
// connection (and its TLS handshake) is never shared with another test's channel.
std::shared_ptr<grpc::Channel> make_channel(const std::string& target,
                                            const std::optional<client_tls_files>& tls = std::nullopt);

struct call_options {
  std::chrono::milliseconds timeout{10000};  // the call's deadline, from when it starts
  std::vector<std::pair<std::string, std::string>> metadata;
  bool wait_for_ready = false;  // wait for the channel to connect instead of failing fast
  // When set, runs on a side thread once the call has started, and the client cancels the call
  // as soon as it returns (for example after server.calls().wait_for_in_flight(1, ...)).
  std::function<void()> cancel_when;
};

struct call_result {
  grpc::Status status;
  std::vector<v1::EchoResponse> responses;
  metadata_map initial_metadata;
  metadata_map trailing_metadata;
};

call_result call_unary(v1::EchoService::Stub& stub, const v1::EchoRequest& request, const call_options& options = {});
call_result call_client_stream(v1::EchoService::Stub& stub, const std::vector<v1::EchoRequest>& requests,
                               const call_options& options = {});
call_result call_server_stream(v1::EchoService::Stub& stub, const v1::EchoRequest& request,
                               const call_options& options = {});
// Writes each request and reads its echo before writing the next.
call_result call_bidi(v1::EchoService::Stub& stub, const std::vector<v1::EchoRequest>& requests,
                      const call_options& options = {});

// A request that asks the echo server to send `payload` back.
inline v1::EchoRequest echo(std::string payload) {
  v1::EchoRequest request;
  request.set_payload(std::move(payload));
  return request;
}

}  // namespace s2s::testing
