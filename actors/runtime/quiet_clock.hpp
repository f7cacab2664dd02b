// A CAF clock whose thread an ending actor wakes only if that actor had set a timeout.
//
// CAF's clock thread runs timeouts and delayed messages. Every actor that ends tells it to
// drop the actor's timeouts, and each such notice wakes the thread. The proxy runs each call as
// an actor, and call actors set no timeouts: with CAF's own clock that is one thread wake-up
// per call, for nothing. This clock remembers which actors set a timeout and passes on only
// their notices.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_set>

#include <caf/actor_system_config.hpp>
#include <caf/detail/thread_safe_actor_clock.hpp>

namespace s2s::actors {

class quiet_clock final : public caf::detail::thread_safe_actor_clock {
 public:
  using super = caf::detail::thread_safe_actor_clock;

  void set_ordinary_timeout(time_point due, caf::abstract_actor* self, caf::atom_value type, std::uint64_t id) override;
  void set_request_timeout(time_point due, caf::abstract_actor* self, caf::message_id id) override;
  void set_multi_timeout(time_point due, caf::abstract_actor* self, caf::atom_value type, std::uint64_t id) override;
  void cancel_timeouts(caf::abstract_actor* self) override;

  // Notices of ending actors passed on to the clock thread, and those held back.
  std::uint64_t notices_passed() const { return passed_.load(); }
  std::uint64_t notices_held_back() const { return held_back_.load(); }

 private:
  void remember(caf::abstract_actor* self);
  bool forget(caf::abstract_actor* self);  // true when `self` had set a timeout

  std::mutex mutex_;
  std::unordered_set<caf::actor_id> timed_;  // actors that set a timeout and have not ended
  std::atomic<std::uint64_t> passed_{0};
  std::atomic<std::uint64_t> held_back_{0};
};

// Makes the actor system run CAF's work-sharing scheduler with a quiet_clock as its clock.
void use_quiet_clock(caf::actor_system_config& config);

}  // namespace s2s::actors
