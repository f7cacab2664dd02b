// The upstream actor: owns the way to one target (a local frontend or the remote side) and
// leases it to calls. Its typed interface, upstream_actor, is in upstream_interface.hpp.
#pragma once

#include <memory>
#include <string>

#include "actors/upstream_interface.hpp"

namespace s2s::actors {

// An upstream that leases one target to every call (TCP mode). `name` appears in logs.
upstream_actor spawn_target_upstream(caf::actor_system& system, std::string name,
                                     std::shared_ptr<upstream_target> target);

}  // namespace s2s::actors
