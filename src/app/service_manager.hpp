// What the proxy tells a service manager (systemd, Type=notify) about itself: ready, reloading,
// stopping, and alive while its actor system answers. Without NOTIFY_SOCKET it tells nothing.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <caf/fwd.hpp>

#include "actors/supervisor.hpp"

namespace s2s::app {

// Each sends one state change on NOTIFY_SOCKET, and does nothing when it is not set. A message the
// socket refuses is logged; the proxy runs on either way.
void notify_ready();      // every listener is up, or a reload is done
void notify_reloading();  // with MONOTONIC_USEC, which systemd 253's Type=notify-reload asks for
void notify_stopping();   // a stop signal came; draining begins

// When the watchdog pings, for a service manager that wants a ping at least every `timeout`
// (WATCHDOG_USEC): every half of it, each after a round trip through the actor system bounded by a
// quarter of it, so two pings are never more than three quarters of the timeout apart.
struct watchdog_timing {
  std::chrono::microseconds period;
  std::chrono::microseconds bound;
};
watchdog_timing watchdog_timing_for(std::chrono::microseconds timeout);

// Sends WATCHDOG=1 each period, but only after the supervisor answered a request within the bound:
// a wedged actor system stops the pings, and the service manager restarts the process. Does nothing
// when the service manager asked for no watchdog (no WATCHDOG_USEC, or one meant for another pid).
// Stops pinging when destroyed; destroy it before the actor system.
class watchdog {
 public:
  watchdog(caf::actor_system& system, actors::supervisor_actor supervisor);
  ~watchdog();
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

 private:
  void run(watchdog_timing timing);

  caf::actor_system& system_;
  actors::supervisor_actor supervisor_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace s2s::app
