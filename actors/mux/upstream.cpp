// The mux upstream actor: leases the channels of live mux sessions, round robin.
#include "actors/mux/upstream.hpp"

#include <algorithm>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/runtime/inline_run.hpp"

namespace s2s::actors {
namespace {

struct leased_channel {
  mux_channel_up channel;
  std::uint64_t leases = 0;
};

struct mux_upstream_state {
  static inline const char* name = "mux-upstream";
  // Its handlers only read and change the state, so a call's lease can be given on the call's thread.
  static constexpr bool runs_inline = true;
  std::string address;
  std::vector<leased_channel> channels;  // in the order the sessions came up
  std::size_t next = 0;
};

mux_upstream_actor::behavior_type mux_upstream(stateful_pointer<mux_upstream_actor, mux_upstream_state> self,
                                               std::string address) {
  self->state.address = std::move(address);
  auto forget = [self](const caf::actor_addr& session) {
    auto& channels = self->state.channels;
    channels.erase(std::remove_if(channels.begin(), channels.end(),
                                  [&](const auto& entry) { return entry.channel.session == session; }),
                   channels.end());
  };
  return {
      [self](lease_atom) {
        auto& st = self->state;
        if (st.channels.empty())
          return upstream_lease{nullptr, "no mux session to " + st.address + " is up"};
        auto& chosen = st.channels[st.next++ % st.channels.size()];
        ++chosen.leases;
        return upstream_lease{chosen.channel.target, {}};
      },
      [self, forget](mux_channel_up& up) {
        forget(up.session);
        self->state.channels.push_back({std::move(up), 0});
      },
      [forget](mux_channel_down& down) { forget(down.session); },
      [self](channels_atom) { return self->state.channels.size(); },
      [self](stats_atom) {
        mux_upstream_stats stats;
        for (const auto& entry : self->state.channels)
          stats.leases.push_back(entry.leases);
        return stats;
      },
  };
}

}  // namespace

mux_upstream_actor spawn_mux_upstream(caf::actor_system& system, std::string address) {
  return system.spawn(mux_upstream, std::move(address));
}

}  // namespace s2s::actors
