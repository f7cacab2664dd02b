// Event loops: one thread each, waiting on epoll, running the handlers of the fds it watches,
// the tasks posted to it and its timers. The data path's connections live on them.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/task.hpp"

namespace s2s::net {

// Told when its fd is ready; runs on the loop's thread.
class io_handler {
 public:
  virtual ~io_handler() = default;
  // `events` are epoll's (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP...).
  virtual void on_io(std::uint32_t events) = 0;
};

class event_loop {
 public:
  using clock = std::chrono::steady_clock;
  using task = net::task;
  using timer_id = std::uint64_t;

  explicit event_loop(std::string name);
  // Stops the thread after the tasks posted so far; handlers still watched are not told.
  ~event_loop();
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;

  // The loop whose thread is calling, or null.
  static event_loop* current();
  bool in_loop_thread() const { return current() == this; }

  // Loop thread only. `handler` must stay valid until unwatch(fd).
  void watch(int fd, std::uint32_t events, io_handler* handler);
  void change(int fd, std::uint32_t events, io_handler* handler);
  void unwatch(int fd);
  // Loop thread only: keeps an unwatched handler alive until the events already read for it this
  // round have been skipped past (its on_io may still be called once; it must ignore it).
  void retire(std::shared_ptr<void> handler) { retired_.push_back(std::move(handler)); }

  // Any thread: runs `work` on the loop's thread, in order. From the loop's own thread, after the
  // handler or task that is running now returns (never inside it).
  void post(task work);
  // Runs `work` now when called on the loop's thread, else posts it.
  void run_or_post(task work);
  // Loop thread only: runs `work` once the tasks posted so far, and those they post in turn, have
  // run (within the bound of a turn), so that what several tasks queue for one connection leaves
  // in one write.
  void defer(task work);

  // Stops the thread now; tasks and timers still pending never run. Not from the loop's thread.
  void halt();

  // Loop thread only: runs `work` once after `delay`, unless cancelled first.
  timer_id run_after(clock::duration delay, task work);
  void cancel(timer_id id);

 private:
  void run();
  void run_posted();
  void wake();

  std::string name_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::mutex mutex_;
  std::vector<task> posted_;
  std::vector<task> deferred_;  // loop thread only
  // The batch being run, loop thread only: swapped with posted_ or deferred_ and cleared after,
  // so the three vectors keep their capacity and posting allocates nothing once warm.
  std::vector<task> running_;
  bool stopping_ = false;
  bool halted_ = false;
  std::vector<std::shared_ptr<void>> retired_;
  std::multimap<clock::time_point, std::pair<timer_id, task>> timers_;
  std::map<timer_id, clock::time_point> timer_index_;
  timer_id next_timer_ = 1;
  std::thread thread_;
};

// The process's event loops, started on first use: one per two cores, at least one. Connections
// are spread over them; every stream of a connection is handled on its loop.
class event_loops {
 public:
  static event_loops& instance();
  // Stops the loops' threads, when they were started, without running what is still posted:
  // at exit, once the listeners have drained, so no task runs while the process tears down.
  static void halt();
  // The calling thread's loop when it is one of these, else the next in turn.
  event_loop& pick();
  std::size_t size() const { return loops_.size(); }

 private:
  event_loops();
  static std::atomic<event_loops*> started_;
  std::vector<std::unique_ptr<event_loop>> loops_;
  std::mutex mutex_;
  std::size_t next_ = 0;
};

}  // namespace s2s::net
