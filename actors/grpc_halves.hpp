// The grpc++ halves of a proxied call: they turn reactor callbacks into call-actor messages.
#pragma once

#include <memory>
#include <mutex>

#include <grpcpp/channel.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/client_callback.h>

#include "actors/call.hpp"

namespace s2s::actors {

// The caller's side: a generic server reactor. It owns itself until grpc++ calls OnDone.
class server_half final : public grpc::ServerGenericBidiReactor, public downstream_port {
 public:
  static std::shared_ptr<server_half> create(grpc::GenericCallbackServerContext* context);

  const call_info& info() const override { return info_; }
  void bind(call_actor owner) override;
  void read() override;
  void write(grpc::ByteBuffer message) override;
  void send_metadata(const metadata_list& headers) override;
  void finish(const grpc::Status& status, const metadata_list& trailers) override;

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  explicit server_half(grpc::GenericCallbackServerContext* context);
  template <class Message>
  void notify(Message message);

  grpc::GenericCallbackServerContext* context_;
  call_info info_;
  grpc::ByteBuffer read_buffer_;
  grpc::ByteBuffer write_buffer_;
  std::mutex mutex_;  // guards owner_, cancelled_ and finished_
  call_actor owner_;
  bool cancelled_ = false;
  bool finished_ = false;
  std::shared_ptr<server_half> keep_alive_;
};

// The upstream side: a generic client reactor on a channel. Owns itself until OnDone.
class client_half final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
                          public upstream_port {
 public:
  static std::shared_ptr<client_half> start(const std::shared_ptr<grpc::Channel>& channel,
                                            const call_info& info, call_actor owner);

  void read() override;
  void write(grpc::ByteBuffer message) override;
  void writes_done() override;
  void cancel() override;
  void release() override;

  void OnReadInitialMetadataDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  client_half(const call_info& info, call_actor owner);

  std::unique_ptr<grpc::ClientContext> context_;
  call_actor owner_;
  grpc::ByteBuffer read_buffer_;
  grpc::ByteBuffer write_buffer_;
  std::once_flag released_;
  std::shared_ptr<client_half> keep_alive_;
};

// Opens upstream calls on one gRPC channel.
class channel_target final : public upstream_target {
 public:
  explicit channel_target(std::shared_ptr<grpc::Channel> channel) : channel_(std::move(channel)) {}
  std::shared_ptr<upstream_port> open(const call_info& info, call_actor owner) override;
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace s2s::actors
