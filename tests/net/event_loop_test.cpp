// The event loop's order of work: posted tasks in order, deferred work once they are done.
#include "net/event_loop.hpp"

#include <chrono>
#include <functional>
#include <future>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace s2s::net {
namespace {

using namespace std::chrono_literals;

// Runs `body` on the loop's thread and waits until the loop has also run everything `body`
// posted and deferred (a task posted after it, from outside, runs after all of that).
template <class Body>
void on_loop(event_loop& loop, Body body) {
  std::promise<void> ran;
  loop.post([&] { body(); });
  loop.post([&] { ran.set_value(); });
  ASSERT_EQ(ran.get_future().wait_for(10s), std::future_status::ready);
}

TEST(EventLoop, DeferredWorkRunsAfterThePostedTasksAndWhatTheyPost) {
  event_loop loop("test-loop");
  std::vector<std::string> order;  // loop thread only until the loop is done with it
  std::promise<void> done;
  loop.post([&] {
    loop.defer([&] {
      order.push_back("deferred");
      done.set_value();
    });
    loop.post([&] {
      order.push_back("posted");
      loop.post([&] { order.push_back("posted by posted"); });
    });
    order.push_back("first");
  });
  ASSERT_EQ(done.get_future().wait_for(10s), std::future_status::ready);
  EXPECT_EQ(order, (std::vector<std::string>{"first", "posted", "posted by posted", "deferred"}));
}

TEST(EventLoop, WorkDeferredByDeferredWorkRunsInTheSameTurn) {
  event_loop loop("test-loop");
  std::vector<std::string> order;
  std::promise<void> done;
  loop.post([&] {
    loop.defer([&] {
      order.push_back("deferred");
      loop.post([&] { order.push_back("posted by deferred"); });
      loop.defer([&] {
        order.push_back("deferred by deferred");
        done.set_value();
      });
    });
  });
  ASSERT_EQ(done.get_future().wait_for(10s), std::future_status::ready);
  EXPECT_EQ(order, (std::vector<std::string>{"deferred", "posted by deferred", "deferred by deferred"}));
}

TEST(EventLoop, DeferredWorkRunsEvenWhilePostedTasksKeepPostingMore) {
  event_loop loop("test-loop");
  int reposts = 0;
  bool deferred_ran = false;
  int reposts_when_deferred_ran = -1;
  std::promise<void> done;
  // A chain of tasks each posting the next, far longer than one turn's bound.
  std::function<void()> chain = [&] {
    if (++reposts < 10'000)
      loop.post(chain);
    else
      done.set_value();
  };
  loop.post([&] {
    loop.defer([&] {
      deferred_ran = true;
      reposts_when_deferred_ran = reposts;
    });
    loop.post(chain);
  });
  ASSERT_EQ(done.get_future().wait_for(10s), std::future_status::ready);
  on_loop(loop, [] {});
  EXPECT_TRUE(deferred_ran);
  EXPECT_LT(reposts_when_deferred_ran, 10'000) << "deferred work waited for the whole chain";
}

TEST(EventLoop, PostedTasksRunInTheOrderTheyWerePostedFromAnyThread) {
  event_loop loop("test-loop");
  std::vector<int> order;
  for (int i = 0; i < 100; ++i)
    loop.post([&order, i] { order.push_back(i); });
  on_loop(loop, [] {});
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
}

}  // namespace
}  // namespace s2s::net
