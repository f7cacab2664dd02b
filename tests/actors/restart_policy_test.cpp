// The restart policy on its own: a hand-driven clock and a fixed random source, so each delay is known.
#include "actors/restart_policy.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

using namespace s2s::actors;
using namespace std::chrono_literals;

namespace {

using time_point = restart_policy::time_point;

restart_settings no_jitter() {
  restart_settings settings;
  settings.initial_delay = 500ms;
  settings.max_delay = 30s;
  settings.jitter = 0;
  settings.stable_period = 10s;
  settings.max_failures = 1000;
  settings.failure_window = 60s;
  return settings;
}

restart_policy::random_source fixed(double value) {
  return [value] { return value; };
}

// Fails the child at `now` and expects a delay back.
std::chrono::milliseconds fail(restart_policy& policy, time_point now) {
  auto delay = policy.on_failure(now);
  EXPECT_TRUE(delay.has_value());
  return delay.value_or(0ms);
}

TEST(restart_policy, the_delay_doubles_on_each_failure_up_to_the_cap) {
  restart_policy policy(no_jitter(), fixed(0));
  time_point now{};
  std::vector<std::chrono::milliseconds> delays;
  for (int i = 0; i < 10; ++i) {
    delays.push_back(fail(policy, now));
    now += delays.back();
  }
  std::vector<std::chrono::milliseconds> expected = {500ms, 1s, 2s, 4s, 8s, 16s, 30s, 30s, 30s, 30s};
  EXPECT_EQ(delays, expected);
}

TEST(restart_policy, a_failed_restart_attempt_grows_the_delay_like_a_crash) {
  restart_policy policy(no_jitter(), fixed(0));
  time_point now{};
  EXPECT_EQ(fail(policy, now), 500ms);
  now += 500ms;
  policy.on_restart(now);
  now += 1s;  // down again well before the stable period
  EXPECT_EQ(fail(policy, now), 1s);
  now += 1s;
  EXPECT_EQ(fail(policy, now), 2s);  // the re-bind failed
}

TEST(restart_policy, jitter_shortens_a_delay_by_at_most_its_fraction) {
  auto settings = no_jitter();
  settings.jitter = 0.2;
  // The random source's two ends give the two ends of the range.
  restart_policy low(settings, fixed(0));
  restart_policy high(settings, fixed(1));
  restart_policy middle(settings, fixed(0.5));
  EXPECT_EQ(fail(low, {}), 500ms);
  EXPECT_EQ(fail(high, {}), 400ms);
  EXPECT_EQ(fail(middle, {}), 450ms);
  restart_policy almost(settings, fixed(0.999999));
  EXPECT_EQ(fail(almost, {}), 401ms);  // the shortening is rounded down to whole milliseconds
  // Out-of-range draws are held to the range.
  restart_policy wild(settings, fixed(7));
  EXPECT_EQ(fail(wild, {}), 400ms);
}

TEST(restart_policy, jittered_delays_stay_between_half_the_base_and_the_cap) {
  auto settings = no_jitter();
  settings.jitter = 0.5;
  double draws[] = {0, 0.25, 0.5, 0.75, 0.99};
  for (double draw : draws) {
    restart_policy policy(settings, fixed(draw));
    time_point now{};
    std::chrono::milliseconds base = settings.initial_delay;
    for (int i = 0; i < 12; ++i) {
      auto delay = fail(policy, now);
      EXPECT_LE(delay, base) << "draw " << draw << ", failure " << i;
      EXPECT_GE(delay, base / 2) << "draw " << draw << ", failure " << i;
      EXPECT_LE(delay, settings.max_delay);
      base = std::min(base * 2, settings.max_delay);
      now += delay;
    }
  }
}

TEST(restart_policy, the_delay_resets_after_the_child_stayed_up_for_the_stable_period) {
  restart_policy policy(no_jitter(), fixed(0));
  time_point now{};
  for (int i = 0; i < 4; ++i)
    now += fail(policy, now);
  EXPECT_EQ(policy.next_delay(), 8s);
  policy.on_restart(now);
  now += 10s;
  EXPECT_EQ(fail(policy, now), 500ms);
  EXPECT_EQ(policy.next_delay(), 1s);
}

TEST(restart_policy, the_delay_does_not_reset_just_before_the_stable_period) {
  restart_policy policy(no_jitter(), fixed(0));
  time_point now{};
  for (int i = 0; i < 4; ++i)
    now += fail(policy, now);
  policy.on_restart(now);
  now += 10s - 1ms;
  EXPECT_EQ(fail(policy, now), 8s);
}

TEST(restart_policy, time_spent_down_does_not_count_as_stable) {
  restart_policy policy(no_jitter(), fixed(0));
  time_point now{};
  policy.on_restart(now);
  now += 1s;
  EXPECT_EQ(fail(policy, now), 500ms);
  // Re-binds keep failing for a long time: the child never stayed up, so the backoff keeps growing.
  now += 20s;
  EXPECT_EQ(fail(policy, now), 1s);
  now += 20s;
  EXPECT_EQ(fail(policy, now), 2s);
}

TEST(restart_policy, the_budget_spent_within_the_window_gives_the_child_up) {
  auto settings = no_jitter();
  settings.max_failures = 3;
  settings.failure_window = 60s;
  restart_policy policy(settings, fixed(0));
  time_point now{};
  EXPECT_TRUE(policy.on_failure(now));
  now += 10s;
  EXPECT_TRUE(policy.on_failure(now));
  EXPECT_FALSE(policy.given_up());
  now += 10s;
  EXPECT_FALSE(policy.on_failure(now));
  EXPECT_TRUE(policy.given_up());
  // Given up for good: no more delays, restarts or failures are counted.
  now += 1h;
  EXPECT_FALSE(policy.on_failure(now));
  policy.on_restart(now);
  EXPECT_EQ(policy.failures(), 3u);
  EXPECT_EQ(policy.restarts(), 0u);
}

TEST(restart_policy, failures_older_than_the_window_leave_the_budget) {
  auto settings = no_jitter();
  settings.max_failures = 3;
  settings.failure_window = 60s;
  restart_policy policy(settings, fixed(0));
  time_point now{};
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(policy.on_failure(now)) << "failure " << i;
    now += 30s;  // two failures per window at most
  }
  EXPECT_FALSE(policy.given_up());
  EXPECT_EQ(policy.failures(), 10u);
}

TEST(restart_policy, only_restarts_that_took_are_counted) {
  restart_policy policy(no_jitter(), fixed(0));
  time_point now{};
  now += fail(policy, now);  // the child went down
  now += fail(policy, now);  // the first re-bind failed
  now += fail(policy, now);  // and the second
  policy.on_restart(now);    // the third took
  now += 1s;
  now += fail(policy, now);
  policy.on_restart(now);
  EXPECT_EQ(policy.restarts(), 2u);
  EXPECT_EQ(policy.failures(), 4u);
}

TEST(restart_policy, with_the_default_settings_a_child_that_fails_at_once_every_time_is_given_up) {
  // A budget the backoff can never spend would let a crash loop run forever.
  restart_policy policy(restart_settings{}, fixed(0));
  time_point now{};
  int failures = 0;
  while (auto delay = policy.on_failure(now)) {
    ++failures;
    ASSERT_LT(failures, 100);
    now += *delay;
  }
  EXPECT_EQ(policy.failures(), 10u);
  EXPECT_LT(now - time_point{}, restart_settings{}.failure_window);
}

}  // namespace
