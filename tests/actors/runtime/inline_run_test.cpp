// Which actors run inline, on a real actor system: an actor whose state has the runs_inline
// trait starts and handles what it is sent on the thread that spawned or sent it, before that
// call returns; any other actor runs on a scheduler worker.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <type_traits>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/runtime/inline_run.hpp"

namespace {

using namespace std::chrono_literals;
using s2s::actors::deliver;
using s2s::actors::spawn_here;
using s2s::actors::stateful_pointer;
namespace inline_run = s2s::actors::inline_run;

using probe_actor = caf::typed_actor<caf::reacts_to<int>>;

struct inline_state {
  static constexpr bool runs_inline = true;
};
struct scheduled_state {};
struct declining_state {
  static constexpr bool runs_inline = false;
};

static_assert(inline_run::runs_inline<inline_state>);
static_assert(!inline_run::runs_inline<scheduled_state>);
static_assert(!inline_run::runs_inline<declining_state>);

template <class State>
constexpr bool marked =
    std::is_base_of_v<inline_run::eligible, std::remove_pointer_t<stateful_pointer<probe_actor, State>>>;

static_assert(marked<inline_state>);
static_assert(!marked<scheduled_state> && !marked<declining_state>);
// Without the trait an actor is CAF's own stateful actor, exactly.
static_assert(
    std::is_same_v<stateful_pointer<probe_actor, scheduled_state>, probe_actor::stateful_pointer<scheduled_state>>);

using thread_seen = std::shared_ptr<std::promise<std::thread::id>>;

// Tells on which thread it started and on which it handled its one message, then ends.
template <class State>
probe_actor::behavior_type probe(stateful_pointer<probe_actor, State> self, thread_seen started, thread_seen handled) {
  started->set_value(std::this_thread::get_id());
  return {
      [self, handled](int) {
        handled->set_value(std::this_thread::get_id());
        self->quit();
      },
  };
}

struct inline_run_test : ::testing::Test {
  caf::actor_system_config config;
  caf::actor_system system{config};
  thread_seen started = std::make_shared<std::promise<std::thread::id>>();
  thread_seen handled = std::make_shared<std::promise<std::thread::id>>();
  std::future<std::thread::id> start_thread = started->get_future();
  std::future<std::thread::id> handle_thread = handled->get_future();
};

TEST_F(inline_run_test, an_actor_whose_state_runs_inline_starts_on_the_spawning_thread) {
  auto actor = spawn_here(system, probe<inline_state>, started, handled);
  ASSERT_EQ(start_thread.wait_for(0s), std::future_status::ready) << "the start did not run before spawn_here returned";
  EXPECT_EQ(start_thread.get(), std::this_thread::get_id());
  caf::anon_send(actor, 1);
  handle_thread.wait();
}

TEST_F(inline_run_test, an_idle_actor_whose_state_runs_inline_handles_a_delivery_on_the_sending_thread) {
  auto actor = spawn_here(system, probe<inline_state>, started, handled);  // idle once this returns
  deliver(actor, 1);
  ASSERT_EQ(handle_thread.wait_for(0s), std::future_status::ready)
      << "the message was not handled before deliver returned";
  EXPECT_EQ(handle_thread.get(), std::this_thread::get_id());
}

TEST_F(inline_run_test, an_actor_without_the_trait_starts_and_handles_deliveries_on_a_scheduler_thread) {
  auto actor = spawn_here(system, probe<scheduled_state>, started, handled);
  deliver(actor, 1);
  EXPECT_NE(start_thread.get(), std::this_thread::get_id());
  EXPECT_NE(handle_thread.get(), std::this_thread::get_id());
}

TEST_F(inline_run_test, an_actor_whose_state_declines_runs_on_a_scheduler_thread) {
  auto actor = spawn_here(system, probe<declining_state>, started, handled);
  deliver(actor, 1);
  EXPECT_NE(start_thread.get(), std::this_thread::get_id());
  EXPECT_NE(handle_thread.get(), std::this_thread::get_id());
}

}  // namespace
