// The upstream actor: owns the way to one target (a local frontend or the remote side) and
// leases it to calls. Its typed interface, upstream_actor, is declared in call.hpp.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/channel.h>

#include "actors/call.hpp"
#include "rpc/stream_channels.hpp"

namespace s2s::actors {

// An upstream over one gRPC channel (TCP mode). `name` appears in refusals and logs.
// With `streams`, the long-lived streams it picks ride channels of their own.
upstream_actor spawn_channel_upstream(caf::actor_system& system, std::string name,
                                      std::shared_ptr<grpc::Channel> channel,
                                      std::shared_ptr<rpc::stream_channels> streams = nullptr);

// An upstream that leases one target to every call (TCP mode on the HTTP/2 data path).
upstream_actor spawn_target_upstream(caf::actor_system& system, std::string name,
                                     std::shared_ptr<upstream_target> target);

}  // namespace s2s::actors
