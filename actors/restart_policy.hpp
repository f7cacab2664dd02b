// When a supervised child comes back after it fails: growing, capped, jittered backoff that resets
// only once the child has stayed up, and a failure budget after which the child is left down.
// Plain C++ with the clock and the random source passed in, so it is tested without actors or time.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>

namespace s2s::actors {

struct restart_settings {
  std::chrono::milliseconds initial_delay{500};
  std::chrono::milliseconds max_delay{30000};
  // Each delay is drawn from [delay * (1 - jitter), delay], so children that fail together do not
  // come back together, and max_delay stays a bound.
  double jitter = 0.2;
  // A child that stays up this long after a restart that took starts again from initial_delay.
  std::chrono::milliseconds stable_period{10000};
  // max_failures within failure_window and the child is given up on. The window is wide enough for
  // the backoff: a child that fails at once every time reaches its 10th failure after about two
  // minutes of delays.
  int max_failures = 10;
  std::chrono::milliseconds failure_window{300000};
};

class restart_policy {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  // Returns a number in [0, 1).
  using random_source = std::function<double()>;

  restart_policy(restart_settings settings, random_source random);

  // The child went down, or an attempt to restart it failed, at `now`. Returns how long to wait before
  // the next attempt, or nothing when the budget is spent: the child stays down from then on.
  std::optional<std::chrono::milliseconds> on_failure(time_point now);
  // An attempt to restart the child succeeded at `now`.
  void on_restart(time_point now);

  bool given_up() const { return given_up_; }
  std::uint64_t restarts() const { return restarts_; }  // restarts that took
  std::uint64_t failures() const { return failures_; }
  // The delay the next failure starts from, before jitter.
  std::chrono::milliseconds next_delay() const { return next_delay_; }

 private:
  restart_settings settings_;
  random_source random_;
  std::chrono::milliseconds next_delay_;
  std::optional<time_point> up_since_;  // set by a restart that took, cleared by a failure
  std::deque<time_point> recent_failures_;
  std::uint64_t restarts_ = 0;
  std::uint64_t failures_ = 0;
  bool given_up_ = false;
};

}  // namespace s2s::actors
