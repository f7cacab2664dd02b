// An actor's report of its own mailbox depth, on CAF's deterministic scheduler, where the test
// decides what is queued when the actor runs.
#define CAF_SUITE mailbox

#include <caf/test/dsl.hpp>
#include <caf/test/unit_test_impl.hpp>

#include "actors/runtime/mailbox.hpp"

using namespace s2s::actors;

namespace {

using depth_atom = caf::atom_constant<caf::atom("depth")>;
using poke_atom = caf::atom_constant<caf::atom("poke")>;
using reporter = caf::typed_actor<caf::replies_to<depth_atom>::with<std::size_t>, caf::reacts_to<poke_atom>>;

reporter::behavior_type reporting(reporter::pointer self) {
  return {
      [self](depth_atom) { return messages_waiting(self); },
      [](poke_atom) {},
  };
}

struct fixture : test_coordinator_fixture<> {
  reporter actor = sys.spawn(reporting);
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(mailbox_depth, fixture)

CAF_TEST(an actor counts the messages queued behind the one it handles) {
  self->send(actor, depth_atom::value);
  for (int i = 0; i < 3; ++i)
    self->send(actor, poke_atom::value);
  expect((depth_atom), from(self).to(actor).with(_));
  expect((std::size_t), from(actor).to(self).with(3u));
  for (int i = 0; i < 3; ++i)
    expect((poke_atom), from(self).to(actor).with(_));
}

CAF_TEST(an actor with nothing queued reports zero) {
  self->send(actor, depth_atom::value);
  expect((depth_atom), from(self).to(actor).with(_));
  expect((std::size_t), from(actor).to(self).with(0u));
}

CAF_TEST_FIXTURE_SCOPE_END()
