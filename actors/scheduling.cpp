// How the proxy's actor system schedules its actors.
#include "actors/scheduling.hpp"

#include <algorithm>
#include <thread>

#include <absl/synchronization/mutex.h>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

namespace s2s::actors {

void tune_scheduler(caf::actor_system_config& config) {
  // The distribution's Abseil is built with lock-order checking on; grpc++ takes its mutexes on
  // every operation, and the proxy has no use for that debugging aid.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  config.set("scheduler.policy", caf::atom("sharing"));
  config.set("scheduler.max-threads",
             std::max<std::size_t>(2, std::thread::hardware_concurrency()));
}

}  // namespace s2s::actors
