// The upstream actor: owns the way to one target (a local frontend or the remote side) and
// leases it to calls. Its typed interface, upstream_actor, is declared in call.hpp.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/channel.h>

#include "actors/call.hpp"

namespace s2s::actors {

// An upstream over one gRPC channel (TCP mode). `name` appears in refusals and logs.
upstream_actor spawn_channel_upstream(caf::actor_system& system, std::string name,
                                      std::shared_ptr<grpc::Channel> channel);

}  // namespace s2s::actors
