// The upstream actor: owns the way to one target and leases it to calls.
#include "actors/upstream.hpp"
#include "actors/runtime/census.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/runtime/inline_run.hpp"

namespace s2s::actors {
namespace {

struct target_upstream_state {
  static inline const char* name = "upstream";
  census::mark counted{census::kind::upstream};
  // A lease is an answer from the state, so a call's lease can be given on the call's thread.
  static constexpr bool runs_inline = true;
  std::string target_name;
  std::shared_ptr<upstream_target> target;
};

upstream_actor::behavior_type target_upstream(stateful_pointer<upstream_actor, target_upstream_state> self,
                                              std::string name, std::shared_ptr<upstream_target> target) {
  self->state.target_name = std::move(name);
  self->state.target = std::move(target);
  return {
      [self](lease_atom) {
        return upstream_lease{self->state.target, {}};
      },
  };
}

}  // namespace

upstream_actor spawn_target_upstream(caf::actor_system& system, std::string name,
                                     std::shared_ptr<upstream_target> target) {
  return system.spawn(target_upstream, std::move(name), std::move(target));
}

}  // namespace s2s::actors
