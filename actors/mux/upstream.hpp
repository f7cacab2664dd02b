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

// A peer instance of this side that has live mux sessions, where its outbound listener is reached.
struct peer_route {
  std::string node_name;
  std::string proxy_address;  // host:port
};
// From the membership: the peers that can carry this instance's calls now (replaces the last list).
struct mux_carriers {
  std::vector<peer_route> peers;
};

// For tests and operators: the calls leased on each live session's channel, in the order the
// sessions came up.
struct mux_upstream_stats {
  std::vector<std::uint64_t> leases;
  std::vector<std::string> carriers;  // the peers calls would be forwarded to now, by name
  std::uint64_t forwarded = 0;        // calls leased a peer, for want of a session of this instance
};

// lease: a live session's channel; else, in a group, a peer that has one (the call is forwarded to its
// outbound listener); else a refusal naming the mux address.
// channels: how many sessions of this instance currently offer a channel.
using mux_upstream_actor =
    upstream_actor::extend<caf::reacts_to<mux_channel_up>, caf::reacts_to<mux_channel_down>,
                           caf::reacts_to<mux_carriers>, caf::replies_to<channels_atom>::with<std::size_t>,
                           caf::replies_to<stats_atom>::with<mux_upstream_stats>>;

// `address` is the mux address, for the refusal "no mux session to <address> is up". `node_name` is this
// instance's memberlist.nodeName when it is one of a group (calls it forwards carry it); empty when alone.
mux_upstream_actor spawn_mux_upstream(caf::actor_system& system, std::string address, std::string node_name = {});

}  // namespace s2s::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::mux_channel_up)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::mux_channel_down)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::mux_carriers)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::mux_upstream_stats)
