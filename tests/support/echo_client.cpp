// Channels to an echo server and the blocking call helpers built on the generated stub.
#include "support/echo_client.hpp"

#include <thread>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "support/echo_server.hpp"
#include "support/files.hpp"

namespace s2s::testing {

using v1::EchoRequest;
using v1::EchoResponse;

std::shared_ptr<grpc::Channel> make_channel(const std::string& target, const std::optional<client_tls_files>& tls) {
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(test_max_message_bytes);
  arguments.SetMaxSendMessageSize(test_max_message_bytes);
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (!tls)
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), arguments);

  grpc::SslCredentialsOptions options;
  options.pem_root_certs = read_file(tls->root_ca);
  if (!tls->certificate_chain.empty()) {
    options.pem_cert_chain = read_file(tls->certificate_chain);
    options.pem_private_key = read_file(tls->private_key);
  }
  if (!tls->server_name_override.empty())
    arguments.SetSslTargetNameOverride(tls->server_name_override);
  return grpc::CreateCustomChannel(target, grpc::SslCredentials(options), arguments);
}

namespace {

metadata_map copy_metadata(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  metadata_map copy;
  for (const auto& [key, value] : metadata)
    copy.emplace(std::string(key.data(), key.size()), std::string(value.data(), value.size()));
  return copy;
}

// One call's client context, with the cancelling side thread when the options ask for one.
class call_context {
 public:
  explicit call_context(const call_options& options) : options_(options) {
    context_.set_deadline(std::chrono::system_clock::now() + options.timeout);
    context_.set_wait_for_ready(options.wait_for_ready);
    for (const auto& [key, value] : options.metadata)
      context_.AddMetadata(key, value);
  }

  ~call_context() {
    if (canceller_.joinable())
      canceller_.join();
  }

  grpc::ClientContext* get() {
    if (options_.cancel_when && !canceller_.joinable())
      canceller_ = std::thread([this] {
        options_.cancel_when();
        context_.TryCancel();
      });
    return &context_;
  }

  call_result finish(grpc::Status status, std::vector<EchoResponse> responses) {
    if (canceller_.joinable())
      canceller_.join();
    return {std::move(status), std::move(responses), copy_metadata(context_.GetServerInitialMetadata()),
            copy_metadata(context_.GetServerTrailingMetadata())};
  }

 private:
  const call_options& options_;
  grpc::ClientContext context_;
  std::thread canceller_;
};

}  // namespace

call_result call_unary(v1::EchoService::Stub& stub, const EchoRequest& request, const call_options& options) {
  call_context context(options);
  EchoResponse response;
  auto status = stub.Unary(context.get(), request, &response);
  std::vector<EchoResponse> responses;
  if (status.ok())
    responses.push_back(std::move(response));
  return context.finish(std::move(status), std::move(responses));
}

call_result call_client_stream(v1::EchoService::Stub& stub, const std::vector<EchoRequest>& requests,
                               const call_options& options) {
  call_context context(options);
  EchoResponse response;
  auto writer = stub.ClientStream(context.get(), &response);
  for (const auto& request : requests)
    if (!writer->Write(request))
      break;
  writer->WritesDone();
  auto status = writer->Finish();
  std::vector<EchoResponse> responses;
  if (status.ok())
    responses.push_back(std::move(response));
  return context.finish(std::move(status), std::move(responses));
}

call_result call_server_stream(v1::EchoService::Stub& stub, const EchoRequest& request, const call_options& options) {
  call_context context(options);
  auto reader = stub.ServerStream(context.get(), request);
  std::vector<EchoResponse> responses;
  EchoResponse response;
  while (reader->Read(&response))
    responses.push_back(std::move(response));
  auto status = reader->Finish();
  return context.finish(std::move(status), std::move(responses));
}

call_result call_bidi(v1::EchoService::Stub& stub, const std::vector<EchoRequest>& requests,
                      const call_options& options) {
  call_context context(options);
  auto stream = stub.Bidi(context.get());
  std::vector<EchoResponse> responses;
  EchoResponse response;
  for (const auto& request : requests) {
    if (!stream->Write(request) || !stream->Read(&response))
      break;
    responses.push_back(std::move(response));
  }
  stream->WritesDone();
  while (stream->Read(&response))
    responses.push_back(std::move(response));
  auto status = stream->Finish();
  return context.finish(std::move(status), std::move(responses));
}

}  // namespace s2s::testing
