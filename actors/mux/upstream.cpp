// The mux upstream actor: leases the channels of live mux sessions, round robin; with none, a peer
// instance that has some.
#include "actors/mux/upstream.hpp"
#include "actors/runtime/census.hpp"

#include <algorithm>
#include <map>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/call/target.hpp"
#include "actors/runtime/inline_run.hpp"
#include "log/log.hpp"
#include "rpc/stream_channels.hpp"

namespace s2s::actors {
namespace {

struct leased_channel {
  mux_channel_up channel;
  std::uint64_t leases = 0;
};

struct carrier {
  peer_route route;
  std::shared_ptr<upstream_target> target;
};

struct mux_upstream_state {
  static inline const char* name = "mux-upstream";
  census::mark counted{census::kind::mux_upstream};
  // Its handlers only read and change the state, so a call's lease can be given on the call's thread.
  static constexpr bool runs_inline = true;
  std::string address;
  std::string node_name;
  std::vector<leased_channel> channels;  // in the order the sessions came up
  std::size_t next = 0;
  std::vector<carrier> carriers;  // as the membership last said
  std::size_t next_carrier = 0;
  std::uint64_t forwarded = 0;
  // The way to each peer's outbound listener, by node name and address, kept while it is a carrier so
  // that its connections serve call after call.
  std::map<std::pair<std::string, std::string>, std::shared_ptr<upstream_target>> ways;
};

// The way to a peer: a dialing target to its proxy address, marking the calls as forwarded.
std::shared_ptr<upstream_target> way_to(const mux_upstream_state& st, const peer_route& peer) {
  auto address = config::parse_address(peer.proxy_address);
  if (!address)
    return nullptr;
  h2_target_spec spec{"forwarding to peer '" + peer.node_name + "'", config::endpoint{*address, {}},
                      rpc::is_long_lived_stream};
  auto dialing = make_dialing_target(std::move(spec));
  if (auto* error = std::get_if<std::string>(&dialing)) {
    log::warn("mux-upstream",
              "cannot forward to peer '" + peer.node_name + "' at " + peer.proxy_address + ": " + *error);
    return nullptr;
  }
  return make_forwarding_target(std::get<0>(std::move(dialing)), st.node_name, peer.node_name);
}

void take_carriers(mux_upstream_state& st, std::vector<peer_route> peers) {
  decltype(st.ways) kept;
  st.carriers.clear();
  for (auto& peer : peers) {
    auto key = std::make_pair(peer.node_name, peer.proxy_address);
    auto known = st.ways.find(key);
    auto target = known != st.ways.end() ? known->second : way_to(st, peer);
    if (!target)
      continue;
    kept.emplace(key, target);
    st.carriers.push_back({std::move(peer), std::move(target)});
  }
  st.ways = std::move(kept);
}

mux_upstream_actor::behavior_type mux_upstream(stateful_pointer<mux_upstream_actor, mux_upstream_state> self,
                                               std::string address, std::string node_name) {
  self->state.address = std::move(address);
  self->state.node_name = std::move(node_name);
  auto forget = [self](const caf::actor_addr& session) {
    auto& channels = self->state.channels;
    channels.erase(std::remove_if(channels.begin(), channels.end(),
                                  [&](const auto& entry) { return entry.channel.session == session; }),
                   channels.end());
  };
  return {
      [self](lease_atom) {
        auto& st = self->state;
        if (st.channels.empty() && !st.carriers.empty()) {
          auto& peer = st.carriers[st.next_carrier++ % st.carriers.size()];
          ++st.forwarded;
          return upstream_lease{peer.target, {}};
        }
        if (st.channels.empty())
          return upstream_lease{nullptr, "no mux session to " + st.address + " is up" +
                                             (st.node_name.empty() ? "" : ", and no peer instance has one")};
        auto& chosen = st.channels[st.next++ % st.channels.size()];
        ++chosen.leases;
        return upstream_lease{chosen.channel.target, {}};
      },
      [self, forget](mux_channel_up& up) {
        forget(up.session);
        self->state.channels.push_back({std::move(up), 0});
      },
      [forget](mux_channel_down& down) { forget(down.session); },
      [self](mux_carriers& carriers) { take_carriers(self->state, std::move(carriers.peers)); },
      [self](channels_atom) { return self->state.channels.size(); },
      [self](stats_atom) {
        mux_upstream_stats stats;
        for (const auto& entry : self->state.channels)
          stats.leases.push_back(entry.leases);
        for (const auto& peer : self->state.carriers)
          stats.carriers.push_back(peer.route.node_name);
        stats.forwarded = self->state.forwarded;
        return stats;
      },
  };
}

}  // namespace

mux_upstream_actor spawn_mux_upstream(caf::actor_system& system, std::string address, std::string node_name) {
  return system.spawn(mux_upstream, std::move(address), std::move(node_name));
}

}  // namespace s2s::actors
