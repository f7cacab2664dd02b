// When a supervised child comes back after it fails.
#include "actors/restart_policy.hpp"

#include <algorithm>

namespace s2s::actors {

restart_policy::restart_policy(restart_settings settings, random_source random)
    : settings_(settings), random_(std::move(random)), next_delay_(settings.initial_delay) {}

std::optional<std::chrono::milliseconds> restart_policy::on_failure(time_point now) {
  if (given_up_)
    return std::nullopt;
  ++failures_;
  if (up_since_ && now - *up_since_ >= settings_.stable_period)
    next_delay_ = settings_.initial_delay;
  up_since_.reset();

  while (!recent_failures_.empty() && now - recent_failures_.front() >= settings_.failure_window)
    recent_failures_.pop_front();
  recent_failures_.push_back(now);
  if (static_cast<int>(recent_failures_.size()) >= settings_.max_failures) {
    given_up_ = true;
    return std::nullopt;
  }

  auto base = next_delay_;
  next_delay_ = std::min(next_delay_ * 2, settings_.max_delay);
  auto draw = std::clamp(random_(), 0.0, 1.0);
  auto off = std::chrono::duration_cast<std::chrono::milliseconds>(base * (settings_.jitter * draw));
  return base - off;
}

void restart_policy::on_restart(time_point now) {
  if (given_up_)
    return;
  ++restarts_;
  up_since_ = now;
}

}  // namespace s2s::actors
