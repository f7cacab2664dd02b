// Readiness of a side: a gRPC channel's connectivity, or whatever the side's owner reports.
#include "health/readiness.hpp"

#include <grpcpp/channel.h>
#include <grpcpp/create_channel.h>

#include "rpc/credentials.hpp"

namespace s2s::health {
namespace {

std::string_view state_name(grpc_connectivity_state state) {
  switch (state) {
    case GRPC_CHANNEL_IDLE:
      return "idle";
    case GRPC_CHANNEL_CONNECTING:
      return "connecting";
    case GRPC_CHANNEL_READY:
      return "ready";
    case GRPC_CHANNEL_TRANSIENT_FAILURE:
      return "failing to connect";
    case GRPC_CHANNEL_SHUTDOWN:
      return "shut down";
  }
  return "unknown";
}

class channel_check final : public readiness {
 public:
  channel_check(std::shared_ptr<grpc::Channel> channel, std::string what, std::chrono::milliseconds patience)
      : channel_(std::move(channel)), what_(std::move(what)), patience_(patience) {}

  verdict check() override {
    auto deadline = std::chrono::system_clock::now() + patience_;
    auto state = channel_->GetState(true);
    while (state != GRPC_CHANNEL_READY) {
      if (!channel_->WaitForStateChange(state, deadline))
        return {false, "cannot reach " + what_ + " (" + std::string(state_name(state)) + ")"};
      state = channel_->GetState(true);
    }
    return {true, {}};
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::string what_;
  std::chrono::milliseconds patience_;
};

class function_check final : public readiness {
 public:
  explicit function_check(std::function<verdict()> check) : check_(std::move(check)) {}
  verdict check() override { return check_(); }

 private:
  std::function<verdict()> check_;
};

}  // namespace

std::shared_ptr<readiness> channel_readiness(const config::endpoint& target, std::string what,
                                             std::chrono::milliseconds patience) {
  auto settings = rpc::client_channel_settings(target.tls);
  if (auto* problem = std::get_if<std::string>(&settings))
    return never_ready(what + ": " + *problem);
  auto& client = std::get<rpc::client_settings>(settings);
  // A connection of its own, retried often, so the answer follows the target within a second.
  client.arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  client.arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  client.arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  client.arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  auto channel = grpc::CreateCustomChannel(target.addr.to_string(), client.credentials, client.arguments);
  return std::make_shared<channel_check>(std::move(channel), what + " at " + target.addr.to_string(), patience);
}

std::shared_ptr<readiness> readiness_from(std::function<readiness::verdict()> check) {
  return std::make_shared<function_check>(std::move(check));
}

std::shared_ptr<readiness> never_ready(std::string reason) {
  return readiness_from([reason = std::move(reason)] { return readiness::verdict{false, reason}; });
}

}  // namespace s2s::health
