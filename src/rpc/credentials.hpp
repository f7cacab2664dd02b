// gRPC credentials and channel settings built from a TLS block of the config.
#pragma once

#include <memory>
#include <string>
#include <variant>

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "config/config.hpp"

namespace s2s::rpc {

struct client_settings {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  grpc::ChannelArguments arguments;
};

// Both return a message naming the file when a PEM file cannot be read.
std::variant<std::shared_ptr<grpc::ServerCredentials>, std::string> server_credentials(
    const config::tls_config& tls);
std::variant<client_settings, std::string> client_channel_settings(const config::tls_config& tls);

// Opens a channel to `target` with the settings above; the string is an error message.
std::variant<std::shared_ptr<grpc::Channel>, std::string> open_channel(
    const config::endpoint& target);

}  // namespace s2s::rpc
