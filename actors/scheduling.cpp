// How the proxy's actor system schedules its actors.
#include "actors/scheduling.hpp"

#include <algorithm>
#include <thread>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

namespace s2s::actors {

void tune_scheduler(caf::actor_system_config& config) {
  config.set("scheduler.policy", caf::atom("sharing"));
  config.set("scheduler.max-threads",
             std::max<std::size_t>(2, std::thread::hardware_concurrency()));
}

}  // namespace s2s::actors
