// A generic gRPC call driven one blocking operation at a time, for bytes in and out by method
// path: any unary or streaming method looks the same on the wire.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/completion_queue.h>
#include <grpcpp/generic/generic_stub.h>

namespace s2s::rpc {

class blocking_bidi {
 public:
  // Starts the call, with `metadata` as its request headers; it ends by itself once `timeout` passes.
  blocking_bidi(std::shared_ptr<grpc::Channel> channel, std::string_view method, std::chrono::milliseconds timeout,
                const std::vector<std::pair<std::string, std::string>>& metadata = {});
  ~blocking_bidi();  // cancels a call that was not finished
  blocking_bidi(const blocking_bidi&) = delete;
  blocking_bidi& operator=(const blocking_bidi&) = delete;

  // Each returns false once the call can no longer carry messages; finish() then says why.
  bool write(std::string_view bytes);
  bool read(std::string& bytes);
  // Tells the server no more messages come; reads go on.
  void writes_done();
  // Half-closes when still open, and returns the call's status.
  grpc::Status finish();

 private:
  bool next();

  grpc::GenericStub stub_;
  grpc::ClientContext context_;
  grpc::CompletionQueue queue_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
  bool open_ = false;  // started and not half-closed
  bool finished_ = false;
  grpc::Status status_;
};

}  // namespace s2s::rpc
