// Whether one side of a cluster connection can carry traffic now, behind a small interface that
// each kind of side implements (a gRPC channel for TCP sides, live sessions for mux sides).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "config/config.hpp"

namespace s2s::health {

class readiness {
 public:
  struct verdict {
    bool ready = false;
    std::string reason;  // why not, for a person; empty when ready
  };
  virtual ~readiness() = default;
  // Called from a health server's thread for every request: safe from any thread, and it
  // returns within a bound of its own (a second or so), whatever the network does.
  virtual verdict check() = 0;
};

// Ready when a gRPC channel to `target` (with its TLS settings) is connected, or connects
// within `patience`. `what` names the target in reasons ("the local frontend").
std::shared_ptr<readiness> channel_readiness(const config::endpoint& target, std::string what,
                                             std::chrono::milliseconds patience = std::chrono::milliseconds(1000));

// A readiness given as a function, for sides whose owner knows (a mux connection's sessions).
std::shared_ptr<readiness> readiness_from(std::function<readiness::verdict()> check);

// Never ready, with a fixed reason (a side this build cannot judge).
std::shared_ptr<readiness> never_ready(std::string reason);

}  // namespace s2s::health
