// How the proxy's process runs: scheduling of its threads, and its allocator.
#include "actors/runtime/scheduling.hpp"
#include "actors/runtime/quiet_clock.hpp"

#include <malloc.h>
#include <stdlib.h>

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>

#include <absl/synchronization/mutex.h>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/defaults.hpp>
#include <caf/thread_hook.hpp>

#include "sys/thread_name.hpp"

namespace s2s::actors {
namespace {

std::atomic<std::uint64_t> large_messages{0};

// Once a second: if large messages passed during the last second, wait; if they passed before
// that and none since, the memory they took is free by now, and malloc_trim gives the free pages
// of every heap back (not only the top of each heap, which is all the trim threshold covers).
// A proxy that carries no large messages never trims, so small calls keep their warm heap.
[[noreturn]] void trim_after_large_messages() {
  sys::name_this_thread("s2s-mem-trim");
  std::uint64_t seen = 0;
  bool pending = false;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    auto now = large_messages.load(std::memory_order_relaxed);
    if (now != seen) {
      seen = now;
      pending = true;
    } else if (pending) {
      pending = false;
      malloc_trim(0);
    }
  }
}

// CAF 0.17 gives each scheduler worker the same name, "caf.multiplexer", though it multiplexes
// nothing; numbered, the workers can be told apart in top -H. CAF names a thread just before it
// tells the hooks, so the name says which of its threads this is. Its clock ("caf.clock") and
// detached actors ("caf.actor") keep their names, which say what they are.
class name_scheduler_workers final : public caf::thread_hook {
 public:
  void init(caf::actor_system& system) override {
    workers_ = caf::get_or(system.config(), "scheduler.max-threads", caf::defaults::scheduler::max_threads);
  }
  void thread_started() override {
    char given[sys::max_thread_name + 1] = {};
    if (::pthread_getname_np(::pthread_self(), given, sizeof given) != 0 ||
        std::string_view(given) != "caf.multiplexer")
      return;
    // The scheduler starts its workers before any other module; a later thread of that name is the
    // middleman's network multiplexer (loaded only for a group of instances, memberlist).
    auto index = next_.fetch_add(1);
    sys::name_this_thread(index < workers_ ? "s2s-actor-" + std::to_string(index) : std::string("s2s-group-io"));
  }
  void thread_terminates() override {}

 private:
  std::size_t workers_ = 0;
  std::atomic<std::size_t> next_{0};
};

}  // namespace

void note_large_message() { large_messages.fetch_add(1, std::memory_order_relaxed); }

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
  config.add_thread_hook<name_scheduler_workers>();
  config.set("scheduler.max-threads", std::max<std::size_t>(2, std::thread::hardware_concurrency()));
}

void tune_allocator() {
  // glibc trims a thread's heap whenever a free leaves more than a threshold at its top, and
  // serves blocks above another threshold with mmap. A call's buffers come and go together, so
  // with the defaults each call gave its pages back and faulted them in again (a tenth of the
  // proxy's CPU on small calls), and each 1 MiB message was an mmap and munmap of its own.
  // Fixed thresholds also stop glibc from moving them as it goes. The cost, up to the trim
  // threshold per heap kept after a burst (a 128 MiB call left 280 MB resident), is paid back
  // by the trim thread once large messages are over.
  mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  // The thread starts with every signal blocked, as it inherits the mask: it may start before
  // main blocks the stop signals, and a SIGTERM the kernel gave to it would end the process at
  // once, without the drain.
  sigset_t all, before;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &before);
  std::thread(trim_after_large_messages).detach();
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
}

}  // namespace s2s::actors
