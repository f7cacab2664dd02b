// The quiet clock on a real actor system: actors that set no timeout end without a notice to
// the clock thread, and every kind of timeout and delayed message still arrives.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>

#include "actors/runtime/quiet_clock.hpp"

namespace {

using namespace std::chrono_literals;
using s2s::actors::quiet_clock;
using done_atom = caf::atom_constant<caf::atom("done")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;

caf::actor_system_config& with_quiet_clock(caf::actor_system_config& config) {
  s2s::actors::use_quiet_clock(config);
  return config;
}

struct quiet_clock_test : ::testing::Test {
  caf::actor_system_config config;
  caf::actor_system system{with_quiet_clock(config)};
  quiet_clock& clock = dynamic_cast<quiet_clock&>(system.clock());

  // Waits until `count` actors have ended, as the counters tell; bounded.
  bool ended(std::uint64_t count) {
    for (int i = 0; i < 500; ++i) {
      if (clock.notices_passed() + clock.notices_held_back() >= count)
        return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
};

TEST_F(quiet_clock_test, TheSystemRunsOnTheQuietClock) {
  EXPECT_NE(dynamic_cast<quiet_clock*>(&system.clock()), nullptr);
}

TEST_F(quiet_clock_test, ActorsThatSetNoTimeoutEndWithoutANotice) {
  auto before_passed = clock.notices_passed();
  auto before_held = clock.notices_held_back();
  for (int i = 0; i < 100; ++i) {
    auto worker = system.spawn([](caf::event_based_actor* self) -> caf::behavior {
      return {[self](ping_atom) {
        self->quit();
        return done_atom::value;
      }};
    });
    caf::scoped_actor self{system};
    bool answered = false;
    self->request(worker, caf::infinite, ping_atom::value)
        .receive([&](done_atom) { answered = true; }, [](caf::error&) {});
    ASSERT_TRUE(answered);
  }
  // Each worker's end is held back; the scoped actors asked with no timeout either.
  ASSERT_TRUE(ended(before_passed + before_held + 200));
  EXPECT_EQ(clock.notices_passed(), before_passed);
  EXPECT_GE(clock.notices_held_back(), before_held + 200);
}

TEST_F(quiet_clock_test, AnIdleTimeoutStillFiresAndItsActorsEndIsPassedOn) {
  auto before_passed = clock.notices_passed();
  caf::scoped_actor self{system};
  auto sleeper = system.spawn(
      [](caf::event_based_actor* self, caf::actor reply_to) -> caf::behavior {
        return {
            [](ping_atom) {},
            caf::after(20ms) >>
                [self, reply_to] {
                  self->send(reply_to, tick_atom::value);
                  self->quit();
                },
        };
      },
      caf::actor{self});
  bool ticked = false;
  self->receive([&](tick_atom) { ticked = true; }, caf::after(5s) >> [] {});
  EXPECT_TRUE(ticked);
  for (int i = 0; i < 500 && clock.notices_passed() == before_passed; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(clock.notices_passed(), before_passed + 1);
}

TEST_F(quiet_clock_test, ARequestTimeoutStillFires) {
  auto silent = system.spawn([]() -> caf::behavior {
    return {[](ping_atom) -> caf::result<done_atom> { return caf::delegated<done_atom>(); }};
  });
  caf::scoped_actor self{system};
  caf::error failure;
  self->request(silent, 50ms, ping_atom::value).receive([](done_atom) {}, [&](caf::error& e) { failure = e; });
  EXPECT_EQ(failure, caf::sec::request_timeout);
  caf::anon_send_exit(silent, caf::exit_reason::user_shutdown);
}

TEST_F(quiet_clock_test, ADelayedMessageStillArrives) {
  caf::scoped_actor self{system};
  auto start = std::chrono::steady_clock::now();
  self->delayed_send(self, 30ms, tick_atom::value);
  bool arrived = false;
  self->receive([&](tick_atom) { arrived = true; }, caf::after(5s) >> [] {});
  EXPECT_TRUE(arrived);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms);
}

}  // namespace
