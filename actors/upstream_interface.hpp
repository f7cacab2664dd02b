// The upstream actor's interface: what a call asks its upstream for (a lease), and what a lease
// hands it (an upstream_target, which opens the call's upstream half). Implemented by the TCP
// upstream (upstream.hpp) and the mux upstream (mux_upstream.hpp).
#pragma once

#include <memory>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/call/ports.hpp"

namespace s2s::actors {

// Something that can open upstream calls: a channel over TCP, or one over a mux stream.
class upstream_target {
 public:
  virtual ~upstream_target() = default;
  // Starts the upstream call; its events go to `owner`.
  virtual std::shared_ptr<upstream_port> open(const call_info& info, call_actor owner) = 0;
};

// The upstream actor's answer to a lease request: where to send the call, or why not.
struct upstream_lease {
  std::shared_ptr<upstream_target> target;
  std::string unavailable_reason;
};

// lease: where a call goes, asked once by each call as it starts.
using upstream_actor = caf::typed_actor<caf::replies_to<lease_atom>::with<upstream_lease>>;

}  // namespace s2s::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::upstream_lease)
