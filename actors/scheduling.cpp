// How the proxy's process runs: scheduling of its threads, and its allocator.
#include "actors/scheduling.hpp"
#include "actors/quiet_clock.hpp"

#include <malloc.h>
#include <stdlib.h>

#include <algorithm>
#include <thread>

#include <absl/synchronization/mutex.h>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

namespace s2s::actors {

void tune_scheduler(caf::actor_system_config& config) {
  // grpc's "poll" engine lets each completion thread poll only the sockets of its own queue's
  // calls, so a call's events wake the thread that runs the call. The default engine shares one
  // epoll set among all threads and hands polling to another waiting thread on every wake-up.
  // Takes effect if grpc is not yet initialised; an operator's own choice stands.
  ::setenv("GRPC_POLL_STRATEGY", "poll", 0);
  // The distribution's Abseil is built with lock-order checking on; grpc++ takes its mutexes on
  // every operation, and the proxy has no use for that debugging aid.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Work-sharing workers, and a clock thread that per-call actors do not wake.
  use_quiet_clock(config);
  config.set("scheduler.max-threads",
             std::max<std::size_t>(2, std::thread::hardware_concurrency()));
}

void tune_allocator() {
  // glibc trims a thread's heap whenever a free leaves more than a threshold at its top, and
  // serves blocks above another threshold with mmap. A call's buffers come and go together, so
  // with the defaults each call gave its pages back and faulted them in again (a tenth of the
  // proxy's CPU on small calls), and each 1 MiB message was an mmap and munmap of its own.
  // Fixed thresholds also stop glibc from moving them as it goes. The cost: the process keeps
  // up to the trim threshold per heap after a burst.
  mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
}

}  // namespace s2s::actors
