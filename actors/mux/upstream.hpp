// The mux upstream actor: the outbound side's way to the remote proxy in mux mode. Each live
// mux session offers one gRPC channel over one of its yamux streams; calls are spread over
// them round robin, and move to the remaining or re-established sessions when one dies.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/upstream_interface.hpp"

namespace s2s::actors {

// A session's outbound channel is ready (or was replaced): new calls may use it.
struct mux_channel_up {
  caf::actor_addr session;
  std::shared_ptr<upstream_target> target;
};
// The session's channel is gone; calls already on it end on their own.
struct mux_channel_down {
  caf::actor_addr session;
};

using channels_atom = caf::atom_constant<caf::atom("channels")>;

// For tests and operators: the calls leased on each live session's channel, in the order the
// sessions came up.
struct mux_upstream_stats {
  std::vector<std::uint64_t> leases;
};

// lease: a live session's channel, or a refusal naming the mux address when none is up.
// channels: how many sessions currently offer a channel.
using mux_upstream_actor = upstream_actor::extend<caf::reacts_to<mux_channel_up>, caf::reacts_to<mux_channel_down>,
                                                  caf::replies_to<channels_atom>::with<std::size_t>,
                                                  caf::replies_to<stats_atom>::with<mux_upstream_stats>>;

// `address` is the mux address, for the refusal "no mux session to <address> is up".
mux_upstream_actor spawn_mux_upstream(caf::actor_system& system, std::string address);

}  // namespace s2s::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::mux_channel_up)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::mux_channel_down)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::mux_upstream_stats)
