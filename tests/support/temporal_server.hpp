// A stand-in Temporal frontend on loopback: answers any method with canned response bytes or an error
// status, records every request's bytes and every call's metadata, and serves gRPC server reflection from a
// descriptor set.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace grpc {
class Server;
}

namespace s2s::testing {

class temporal_service;

// An error a method ends with, as the server sends it: code, grpc-message, grpc-status-details-bin.
struct temporal_error {
  int code = 0;
  std::string message;
  std::string details;  // a serialized google.rpc.Status; empty: none
};

using recorded_metadata = std::vector<std::pair<std::string, std::string>>;

struct temporal_server_options {
  // A serialized FileDescriptorSet; reflection answers from it. Empty: no reflection.
  std::string descriptor_set;
  bool reflection_v1 = true;
  bool reflection_v1alpha = true;
  int port = 0;  // 0: the kernel picks one
};

class temporal_server {
 public:
  explicit temporal_server(temporal_server_options options);
  ~temporal_server();
  temporal_server(const temporal_server&) = delete;
  temporal_server& operator=(const temporal_server&) = delete;

  int port() const { return port_; }
  std::string address() const;

  // The n-th request of each call of `method` is answered with responses[n] (none past the end);
  // a call ends OK when the caller half-closes. Methods without answers end UNIMPLEMENTED.
  void answer(const std::string& method, std::vector<std::string> responses);
  // Each call of `method` reads its first request, then ends with `error` (no responses).
  void fail(const std::string& method, temporal_error error);
  // The request metadata of every call of `method` so far, in arrival order (reflection's too).
  std::vector<recorded_metadata> metadata(const std::string& method) const;
  // Every request of `method` so far, in arrival order.
  std::vector<std::string> requests(const std::string& method) const;
  bool wait_for_requests(const std::string& method, std::size_t count, std::chrono::milliseconds timeout) const;
  // Reflection requests answered so far, both versions.
  std::size_t reflection_requests() const;

  class state;

 private:
  std::shared_ptr<state> state_;
  std::unique_ptr<temporal_service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace s2s::testing
