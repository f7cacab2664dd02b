// What the proxy tells a service manager about itself, through libsystemd's sd_notify.
#include "app/service_manager.hpp"

#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include <systemd/sd-daemon.h>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "log/log.hpp"
#include "sys/thread_name.hpp"

namespace s2s::app {
namespace {

constexpr std::string_view component = "systemd";

std::string milliseconds_of(std::chrono::microseconds duration) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(duration).count()) + " ms";
}

// sd_notify returns 0, sending nothing, when NOTIFY_SOCKET is not set.
void send(const std::string& state) {
  int sent = sd_notify(0, state.c_str());
  if (sent < 0)
    log::warn(component, "cannot send " + state.substr(0, state.find('\n')) +
                             " to the service manager (NOTIFY_SOCKET): " + std::strerror(-sent));
}

// Nothing when the supervisor answered a stats request within `bound`: its mailbox is read, a
// scheduler thread ran its handler, and the reply came back through the actor system.
caf::error supervisor_round_trip(caf::actor_system& system, const actors::supervisor_actor& supervisor,
                                 std::chrono::microseconds bound) {
  caf::scoped_actor self{system};
  caf::error failed;
  self->request(supervisor,
                std::max(std::chrono::duration_cast<std::chrono::milliseconds>(bound), std::chrono::milliseconds(1)),
                actors::stats_atom::value)
      .receive([](actors::proxy_report&) {}, [&](caf::error& err) { failed = std::move(err); });
  return failed;
}

}  // namespace

void notify_ready() { send("READY=1"); }

void notify_reloading() {
  // The service manager matches this against its own clock to tell this reload from an older one.
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  auto microseconds = static_cast<std::uint64_t>(now.tv_sec) * 1000000 + static_cast<std::uint64_t>(now.tv_nsec) / 1000;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(microseconds));
}

void notify_stopping() { send("STOPPING=1"); }

watchdog_timing watchdog_timing_for(std::chrono::microseconds timeout) { return {timeout / 2, timeout / 4}; }

watchdog::watchdog(caf::actor_system& system, actors::supervisor_actor supervisor)
    : system_(system), supervisor_(std::move(supervisor)) {
  std::uint64_t timeout = 0;
  int enabled = sd_watchdog_enabled(0, &timeout);
  if (enabled < 0) {
    log::error(component, std::string("WATCHDOG_USEC is not a number of microseconds, so no watchdog pings: ") +
                              std::strerror(-enabled));
    return;
  }
  if (enabled == 0)
    return;
  auto timing = watchdog_timing_for(std::chrono::microseconds(timeout));
  log::info(component, "watchdog: WATCHDOG=1 every " + milliseconds_of(timing.period) +
                           " while the supervisor answers within " + milliseconds_of(timing.bound));
  thread_ = std::thread([this, timing] {
    sys::name_this_thread("s2s-watchdog");
    run(timing);
  });
}

watchdog::~watchdog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void watchdog::run(watchdog_timing timing) {
  bool missed = false;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    auto next = std::chrono::steady_clock::now() + timing.period;
    lock.unlock();
    auto failed = supervisor_round_trip(system_, supervisor_, timing.bound);
    if (!failed) {
      send("WATCHDOG=1");
      if (missed)
        log::info(component, "watchdog: the supervisor answers again; pings resumed");
      missed = false;
    } else if (failed == caf::sec::request_timeout) {
      if (!missed)
        log::error(component,
                   "watchdog: the supervisor did not answer within " + milliseconds_of(timing.bound) +
                       "; no WATCHDOG=1 until it does, so the service manager restarts a proxy that stays stuck");
      missed = true;
    } else {
      // The supervisor has ended: the proxy is stopping, and this watchdog is about to be destroyed.
      log::debug(component, "watchdog: no ping, the supervisor has ended: " + system_.render(failed));
    }
    lock.lock();
    wake_.wait_until(lock, next, [this] { return stopping_; });
  }
}

}  // namespace s2s::app
