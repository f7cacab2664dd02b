// The completion queues: completions run on the queues' threads, deferred work runs after the
// completion that deferred it, and the queues shut down only once no lease is left.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/alarm.h>

#include "rpc/completion_queues.hpp"

namespace s2s::rpc {
namespace {

using namespace std::chrono_literals;

// What happened, in order, from whichever thread.
struct journal {
  std::mutex mutex;
  std::vector<std::string> entries;
  void add(std::string entry) {
    std::lock_guard guard(mutex);
    entries.push_back(std::move(entry));
  }
  std::vector<std::string> read() {
    std::lock_guard guard(mutex);
    return entries;
  }
};

class recorded_flush final : public flushable {
 public:
  recorded_flush(journal& log, std::promise<void>& done) : log_(log), done_(done) {}
  void flush() override {
    log_.add("flushed");
    done_.set_value();
  }

 private:
  journal& log_;
  std::promise<void>& done_;
};

// Fires an alarm on a queue at once; its completion runs `handler`.
class alarm_completion final : public completion {
 public:
  template <class Handler>
  explicit alarm_completion(Handler handler) : handler_(std::move(handler)) {}
  void fire(grpc::CompletionQueue* queue) { alarm_.Set(queue, std::chrono::system_clock::now(), this); }
  void complete(bool ok) override { handler_(ok); }

 private:
  std::function<void(bool)> handler_;
  grpc::Alarm alarm_;
};

std::shared_ptr<completion_queues> one_queue() {
  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues;
  queues.push_back(std::make_unique<grpc::CompletionQueue>());
  return std::make_shared<completion_queues>(std::move(queues));
}

TEST(CompletionQueues, ACompletionRunsOnTheQueuesOwnThread) {
  auto queues = one_queue();
  std::promise<std::thread::id> ran_on;
  alarm_completion alarm([&](bool ok) {
    EXPECT_TRUE(ok);
    ran_on.set_value(std::this_thread::get_id());
  });
  alarm.fire(queues->queue(0));
  auto future = ran_on.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  EXPECT_NE(future.get(), std::this_thread::get_id());
}

TEST(CompletionQueues, DeferredWorkRunsAfterTheCompletionThatDeferredIt) {
  auto queues = one_queue();
  journal log;
  std::promise<void> flushed;
  auto work = std::make_shared<recorded_flush>(log, flushed);
  alarm_completion alarm([&](bool) {
    log.add(completion_queues::defer(work) ? "deferred" : "not deferred");
    log.add("completion over");
  });
  alarm.fire(queues->queue(0));
  auto future = flushed.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(log.read(), (std::vector<std::string>{"deferred", "completion over", "flushed"}));
}

TEST(CompletionQueues, NothingIsDeferredOffTheQueuesThreads) {
  auto queues = one_queue();
  journal log;
  std::promise<void> flushed;
  EXPECT_FALSE(completion_queues::defer(std::make_shared<recorded_flush>(log, flushed)));
  EXPECT_TRUE(log.read().empty());
}

TEST(CompletionQueues, ShutDownWaitsForTheLastLease) {
  auto queues = one_queue();
  auto lease = std::make_unique<completion_queues::lease>(queues);
  EXPECT_FALSE(queues->shut_down_when_unused(50ms));
  // Still running: a completion still runs.
  std::promise<void> ran;
  alarm_completion alarm([&](bool) { ran.set_value(); });
  alarm.fire(queues->queue(0));
  ASSERT_EQ(ran.get_future().wait_for(10s), std::future_status::ready);
  std::thread release([&] {
    std::this_thread::sleep_for(20ms);
    lease.reset();
  });
  EXPECT_TRUE(queues->shut_down_when_unused(10s));
  release.join();
}

TEST(CompletionQueues, TheLastLeaseGoingOnAQueueThreadDoesNotJoinItself) {
  auto queues = one_queue();
  std::promise<void> ran;
  auto lease = std::make_shared<completion_queues::lease>(queues);
  std::weak_ptr<completion_queues> watch = queues;
  // The completion holds the last reference to the queues, through its lease.
  alarm_completion alarm([&ran, lease](bool) mutable {
    lease.reset();
    ran.set_value();
  });
  alarm.fire(queues->queue(0));
  queues.reset();
  lease.reset();
  ASSERT_EQ(ran.get_future().wait_for(10s), std::future_status::ready);
  for (int i = 0; i < 1000 && !watch.expired(); ++i)
    std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(watch.expired());
}

}  // namespace
}  // namespace s2s::rpc
