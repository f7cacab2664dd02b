// DescribeNamespace through a running proxy, as the binary tests call it: one request on a plain channel.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <thread>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "rpc/blocking_bidi.hpp"
#include "temporal_messages.hpp"

namespace s2s::testing {

inline const std::string describe_namespace = "/temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace";

inline std::string describe_request(std::string_view name) {
  auto m = translation::testing::make("temporal.api.workflowservice.v1.DescribeNamespaceRequest");
  translation::testing::set(*m, "namespace", name);
  return translation::testing::bytes_of(*m);
}

inline grpc::Status describe(int port, std::string_view name) {
  rpc::blocking_bidi call(grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()),
                          describe_namespace, std::chrono::seconds(10));
  call.write(describe_request(name));
  call.writes_done();
  std::string response;
  while (call.read(response)) {
  }
  return call.finish();
}

// Calls until one succeeds (the schema loaded, an upstream back, a group formed), for at most `bound`.
// `name` is the namespace as the calling side knows it.
inline grpc::Status describe_until_served(int port, std::string_view name,
                                          std::chrono::milliseconds bound = std::chrono::seconds(30)) {
  auto until = std::chrono::steady_clock::now() + bound;
  for (;;) {
    auto status = describe(port, name);
    if (status.ok() || std::chrono::steady_clock::now() > until)
      return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace s2s::testing
