// A CAF clock that ending actors wake only when they had set a timeout, and the scheduler
// that uses it.
#include "actors/runtime/quiet_clock.hpp"

#include <thread>

#include <caf/policy/work_sharing.hpp>
#include <caf/scheduler/coordinator.hpp>

#include "sys/thread_name.hpp"

namespace s2s::actors {
namespace {

// CAF's work-sharing scheduler with a quiet_clock. The base class still starts a clock thread
// of its own; nothing reaches that clock, so its thread sleeps until shutdown.
class quiet_coordinator final : public caf::scheduler::coordinator<caf::policy::work_sharing> {
 public:
  using super = caf::scheduler::coordinator<caf::policy::work_sharing>;

  explicit quiet_coordinator(caf::actor_system& system) : super(system) {}

  static caf::actor_system::module* make(caf::actor_system& system, caf::detail::type_list<>) {
    return new quiet_coordinator(system);
  }

  caf::detail::thread_safe_actor_clock& clock() noexcept override { return clock_; }

 protected:
  void start() override {
    clock_thread_ = std::thread([this] {
      sys::name_this_thread("s2s-clock");
      system().thread_started();
      clock_.run_dispatch_loop();
      system().thread_terminates();
    });
    super::start();
  }

  void stop() override {
    super::stop();  // ends the actors first; their last notices still reach the clock
    clock_.cancel_dispatch_loop();
    clock_thread_.join();
  }

 private:
  quiet_clock clock_;
  std::thread clock_thread_;
};

}  // namespace

void quiet_clock::set_ordinary_timeout(time_point due, caf::abstract_actor* self, caf::atom_value type,
                                       std::uint64_t id) {
  remember(self);
  super::set_ordinary_timeout(due, self, type, id);
}

void quiet_clock::set_request_timeout(time_point due, caf::abstract_actor* self, caf::message_id id) {
  remember(self);
  super::set_request_timeout(due, self, id);
}

void quiet_clock::set_multi_timeout(time_point due, caf::abstract_actor* self, caf::atom_value type, std::uint64_t id) {
  remember(self);
  super::set_multi_timeout(due, self, type, id);
}

void quiet_clock::cancel_timeouts(caf::abstract_actor* self) {
  if (!forget(self)) {
    ++held_back_;
    return;
  }
  ++passed_;
  super::cancel_timeouts(self);
}

void quiet_clock::remember(caf::abstract_actor* self) {
  std::lock_guard guard(mutex_);
  timed_.insert(self->id());
}

bool quiet_clock::forget(caf::abstract_actor* self) {
  std::lock_guard guard(mutex_);
  return timed_.erase(self->id()) > 0;
}

void use_quiet_clock(caf::actor_system_config& config) { config.load<quiet_coordinator>(); }

}  // namespace s2s::actors
