// gRPC credentials and channel settings built from a TLS block of the config.
#pragma once

#include <functional>
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
std::variant<std::shared_ptr<grpc::ServerCredentials>, std::string> server_credentials(const config::tls_config& tls);
std::variant<client_settings, std::string> client_channel_settings(const config::tls_config& tls);

// Opens a channel to `target` with the settings above; the string is an error message. grpc
// shares its connection with every channel of the process to the same target and settings.
std::variant<std::shared_ptr<grpc::Channel>, std::string> open_channel(const config::endpoint& target);

// Makes channels to `target` whose connections are their own (grpc's local subchannel pool):
// a connection such a channel opens starts when that channel first calls, and ends with it.
// The TLS files are read once, here.
using channel_opener = std::function<std::shared_ptr<grpc::Channel>()>;
std::variant<channel_opener, std::string> own_channel_opener(const config::endpoint& target);

}  // namespace s2s::rpc
