// The live-actor census on CAF's deterministic scheduler: an actor counts from its start to its end,
// whichever way it ends, and the description names only the kinds with live actors.
#define CAF_SUITE census

#include <caf/test/dsl.hpp>
#include <caf/test/unit_test_impl.hpp>

#include "actors/runtime/census.hpp"
#include "actors/upstream.hpp"

using namespace s2s::actors;

namespace {

struct fixture : test_coordinator_fixture<> {
  std::int64_t upstreams_before = census::live(census::kind::upstream);
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(census_counts, fixture)

CAF_TEST(an actor counts while it runs and not after it ended) {
  auto first = spawn_target_upstream(sys, "first", nullptr);
  auto second = spawn_target_upstream(sys, "second", nullptr);
  run();
  CAF_CHECK_EQUAL(census::live(census::kind::upstream), upstreams_before + 2);
  caf::anon_send_exit(first, caf::exit_reason::user_shutdown);
  run();
  CAF_CHECK_EQUAL(census::live(census::kind::upstream), upstreams_before + 1);
  caf::anon_send_exit(second, caf::exit_reason::kill);
  run();
  CAF_CHECK_EQUAL(census::live(census::kind::upstream), upstreams_before);
}

CAF_TEST(the description names the kinds with live actors and their counts) {
  CAF_REQUIRE_EQUAL(census::total(), 0);
  CAF_CHECK_EQUAL(census::describe_live(), "");
  auto first = spawn_target_upstream(sys, "first", nullptr);
  auto second = spawn_target_upstream(sys, "second", nullptr);
  run();
  CAF_CHECK_EQUAL(census::total(), 2);
  CAF_CHECK_EQUAL(census::describe_live(), "2 upstream");
  caf::anon_send_exit(first, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(second, caf::exit_reason::user_shutdown);
  run();
  CAF_CHECK_EQUAL(census::describe_live(), "");
}

CAF_TEST_FIXTURE_SCOPE_END()
