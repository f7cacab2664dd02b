// Event loops: one thread each on epoll, with posted tasks and timers.
#include "net/event_loop.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "sys/thread_name.hpp"

namespace s2s::net {
namespace {

thread_local event_loop* running_loop = nullptr;

}  // namespace

event_loop::event_loop(std::string name) : name_(std::move(name)) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0)
    throw std::runtime_error("cannot create an event loop: out of file descriptors");
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // the wake-up fd
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event);
  // Signals stay with the threads that wait for them (the main thread's SIGTERM handling).
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  thread_ = std::thread([this] {
    sys::name_this_thread(name_);
    run();
  });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

event_loop::~event_loop() {
  {
    std::lock_guard guard(mutex_);
    stopping_ = true;
  }
  wake();
  if (thread_.joinable())
    thread_.join();
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

event_loop* event_loop::current() { return running_loop; }

void event_loop::halt() {
  {
    std::lock_guard guard(mutex_);
    halted_ = true;
  }
  wake();
  if (thread_.joinable())
    thread_.join();
}

void event_loop::watch(int fd, std::uint32_t events, io_handler* handler) {
  epoll_event event{};
  event.events = events;
  event.data.ptr = handler;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
}

void event_loop::change(int fd, std::uint32_t events, io_handler* handler) {
  epoll_event event{};
  event.events = events;
  event.data.ptr = handler;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event);
}

void event_loop::unwatch(int fd) { ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); }

void event_loop::post(task work) {
  // One queue for every thread, so tasks run in the order they were posted whoever posted them.
  bool first;
  {
    std::lock_guard guard(mutex_);
    first = posted_.empty();
    posted_.push_back(std::move(work));
  }
  if (first && !in_loop_thread())
    wake();
}

void event_loop::run_or_post(task work) {
  if (in_loop_thread())
    work();
  else
    post(std::move(work));
}

event_loop::timer_id event_loop::run_after(clock::duration delay, task work) {
  auto id = next_timer_++;
  auto when = clock::now() + delay;
  timers_.emplace(when, std::make_pair(id, std::move(work)));
  timer_index_.emplace(id, when);
  return id;
}

void event_loop::cancel(timer_id id) {
  auto found = timer_index_.find(id);
  if (found == timer_index_.end())
    return;
  auto [first, last] = timers_.equal_range(found->second);
  for (auto it = first; it != last; ++it)
    if (it->second.first == id) {
      timers_.erase(it);
      break;
    }
  timer_index_.erase(found);
}

void event_loop::wake() {
  std::uint64_t one = 1;
  [[maybe_unused]] auto written = ::write(wake_fd_, &one, sizeof one);
}

void event_loop::defer(task work) { deferred_.push_back(std::move(work)); }

void event_loop::run_posted() {
  // Tasks may post more; those run too, within a bound, then the fds get their turn. Deferred
  // work runs once nothing posted is left, or when the bound is reached.
  auto run_batch = [this] {
    // Index, not iterators: a task may post or defer, which only touches the other vectors.
    for (std::size_t i = 0; i < running_.size(); ++i)
      running_[i]();
    running_.clear();
  };
  for (int round = 0; round < 64; ++round) {
    {
      std::lock_guard guard(mutex_);
      if (halted_)
        return;
      running_.swap(posted_);
    }
    if (running_.empty()) {
      if (deferred_.empty())
        return;
      running_.swap(deferred_);
    }
    run_batch();
  }
  running_.swap(deferred_);
  run_batch();
}

void event_loop::run() {
  running_loop = this;
  constexpr int max_events = 64;
  epoll_event events[max_events];
  for (;;) {
    int timeout = -1;
    {
      std::lock_guard guard(mutex_);
      if (halted_ || (stopping_ && posted_.empty() && deferred_.empty()))
        break;
      if (!posted_.empty() || !deferred_.empty())
        timeout = 0;
    }
    if (timeout != 0 && !timers_.empty()) {
      auto wait = std::chrono::ceil<std::chrono::milliseconds>(timers_.begin()->first - clock::now());
      timeout = static_cast<int>(std::clamp<std::int64_t>(wait.count(), 0, 60'000));
    }
    int ready = ::epoll_wait(epoll_fd_, events, max_events, timeout);
    for (int i = 0; i < ready; ++i) {
      auto* handler = static_cast<io_handler*>(events[i].data.ptr);
      if (handler == nullptr) {
        std::uint64_t count;
        while (::read(wake_fd_, &count, sizeof count) > 0) {
        }
        continue;
      }
      handler->on_io(events[i].events);
      // Work a handler posted to its own loop runs before the next handler's turn, so what it
      // queued leaves in the same round.
      run_posted();
    }
    auto now = clock::now();
    while (!timers_.empty() && timers_.begin()->first <= now) {
      auto node = timers_.extract(timers_.begin());
      timer_index_.erase(node.mapped().first);
      node.mapped().second();
      run_posted();
    }
    run_posted();
    retired_.clear();
  }
  running_loop = nullptr;
}

std::atomic<event_loops*> event_loops::started_ = nullptr;

event_loops& event_loops::instance() {
  // Never destroyed: connections may still post to their loops while the process exits.
  static auto* loops = [] {
    auto* made = new event_loops;
    started_ = made;
    return made;
  }();
  return *loops;
}

void event_loops::halt() {
  if (auto* loops = started_.load())
    for (auto& loop : loops->loops_)
      loop->halt();
}

event_loops::event_loops() {
  unsigned count = std::max(1u, std::thread::hardware_concurrency() / 2);
  for (unsigned i = 0; i < count; ++i)
    loops_.push_back(std::make_unique<event_loop>("s2s-io-" + std::to_string(i)));
}

event_loop& event_loops::pick() {
  if (auto* here = event_loop::current())
    for (auto& loop : loops_)
      if (loop.get() == here)
        return *here;
  std::lock_guard guard(mutex_);
  auto& chosen = *loops_[next_++ % loops_.size()];
  return chosen;
}

}  // namespace s2s::net
