// The event loop's task: what it holds inside and on the heap, moves, and when its work is destroyed.
#include "net/task.hpp"

#include <array>
#include <memory>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace s2s::net {
namespace {

// Counts its live copies through a shared counter, and how often it ran.
struct counted {
  std::shared_ptr<int> live;
  int* runs;
  counted(std::shared_ptr<int> counter, int* ran) : live(std::move(counter)), runs(ran) { ++*live; }
  counted(counted&& other) noexcept : live(other.live), runs(other.runs) { ++*live; }
  counted(const counted&) = delete;
  ~counted() { --*live; }
  void operator()() { ++*runs; }
};

// The same, with a payload too large to be held inside.
struct large_counted : counted {
  using counted::counted;
  std::array<char, task::inline_bytes + 1> padding{};
};

TEST(Task, RunsWhatItWasGivenAsOftenAsItIsCalled) {
  int runs = 0;
  task work([&runs] { ++runs; });
  ASSERT_TRUE(work);
  work();
  work();
  EXPECT_EQ(runs, 2);
}

TEST(Task, AnEmptyTaskSaysSo) {
  task none;
  task null = nullptr;
  EXPECT_FALSE(none);
  EXPECT_FALSE(null);
}

TEST(Task, TakesMoveOnlyCallablesAndDestroysThemOnce) {
  for (bool large : {false, true}) {
    auto live = std::make_shared<int>(0);
    int runs = 0;
    {
      task work = large ? task(large_counted(live, &runs)) : task(counted(live, &runs));
      EXPECT_EQ(*live, 1) << "large: " << large;  // the temporaries are gone, the held one lives
      task moved = std::move(work);
      EXPECT_FALSE(work);
      EXPECT_EQ(*live, 1);
      moved();
      EXPECT_EQ(runs, 1);
    }
    EXPECT_EQ(*live, 0) << "large: " << large;
  }
}

TEST(Task, MoveAssignmentDestroysTheWorkItReplaces) {
  auto first = std::make_shared<int>(0), second = std::make_shared<int>(0);
  int runs = 0;
  task a{counted(first, &runs)};
  task b{large_counted(second, &runs)};
  a = std::move(b);
  EXPECT_EQ(*first, 0);
  EXPECT_EQ(*second, 1);
  a();
  EXPECT_EQ(runs, 1);
  a = task();
  EXPECT_EQ(*second, 0);
}

TEST(Task, AVectorOfTasksKeepsEachOneThroughItsGrowth) {
  auto live = std::make_shared<int>(0);
  int runs = 0;
  std::vector<task> queue;
  for (int i = 0; i < 100; ++i)
    queue.push_back(i % 2 ? task(counted(live, &runs)) : task(large_counted(live, &runs)));
  EXPECT_EQ(*live, 100);
  for (auto& work : queue)
    work();
  EXPECT_EQ(runs, 100);
  queue.clear();
  EXPECT_EQ(*live, 0);
}

TEST(Task, ALambdaHoldingASharedPointerAndFourWordsFitsInside) {
  // What the data path posts most: a lambda with a shared_ptr and a few words.
  auto owner = std::make_shared<int>(7);
  int seen = 0;
  auto work = [owner, &seen, extra = std::array<void*, 4>{}] { seen = *owner + static_cast<int>(extra.size()); };
  static_assert(sizeof(work) <= task::inline_bytes);
  task held(std::move(work));
  held();
  EXPECT_EQ(seen, 11);
}

}  // namespace
}  // namespace s2s::net
