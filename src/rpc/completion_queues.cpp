// Completion queues with a thread each, on which grpc++'s asynchronous calls complete.
#include "rpc/completion_queues.hpp"

#include <pthread.h>

#include <grpc/support/time.h>

namespace s2s::rpc {

completion_queues::completion_queues(std::vector<std::unique_ptr<grpc::CompletionQueue>> queues)
    : queues_(std::move(queues)) {
  threads_.reserve(queues_.size());
  for (auto& queue : queues_)
    threads_.emplace_back([this, raw = queue.get()] { run(raw); });
}

void completion_queues::shut_down_queues() {
  shut_down_ = true;
  for (auto& queue : queues_)
    queue->Shutdown();
}

completion_queues::~completion_queues() {
  {
    std::lock_guard guard(mutex_);
    if (!shut_down_)
      shut_down_queues();
  }
  // The last lease may go on one of the queues' own threads, which cannot join itself: then the
  // threads finish draining on their own, on queues left to them.
  bool own_thread = false;
  for (auto& thread : threads_)
    own_thread = own_thread || thread.get_id() == std::this_thread::get_id();
  if (own_thread) {
    for (auto& thread : threads_)
      thread.detach();
    for (auto& queue : queues_)
      static_cast<void>(queue.release());
    return;
  }
  for (auto& thread : threads_)
    if (thread.joinable())
      thread.join();
}

namespace {

// The work deferred on this thread, when it is a completion thread.
thread_local std::vector<std::shared_ptr<flushable>>* deferred_here = nullptr;

// Completions handled before deferred work runs, at most: a steady stream of them must not
// hold back the operations they made due.
constexpr int batch_limit = 64;

}  // namespace

bool completion_queues::defer(std::shared_ptr<flushable> work) {
  if (!deferred_here)
    return false;
  deferred_here->push_back(std::move(work));
  return true;
}

void completion_queues::run(grpc::CompletionQueue* queue) {
  pthread_setname_np(pthread_self(), "s2s-grpc-cq");
  std::vector<std::shared_ptr<flushable>> deferred, flushing;
  deferred_here = &deferred;
  void* tag = nullptr;
  bool ok = false;
  while (queue->Next(&tag, &ok)) {
    static_cast<completion*>(tag)->complete(ok);
    for (int handled = 1; handled < batch_limit; ++handled) {
      auto now = gpr_time_0(GPR_CLOCK_MONOTONIC);
      if (queue->AsyncNext(&tag, &ok, now) != grpc::CompletionQueue::GOT_EVENT)
        break;
      static_cast<completion*>(tag)->complete(ok);
    }
    while (!deferred.empty()) {
      flushing.swap(deferred);
      for (auto& work : flushing)
        work->flush();
      flushing.clear();
    }
  }
  deferred_here = nullptr;
}

completion_queues::lease::lease(std::shared_ptr<completion_queues> owner) : owner_(std::move(owner)) {
  std::lock_guard guard(owner_->mutex_);
  ++owner_->leases_;
}

completion_queues::lease::~lease() {
  if (!owner_)
    return;
  std::lock_guard guard(owner_->mutex_);
  if (--owner_->leases_ == 0)
    owner_->unused_.notify_all();
}

bool completion_queues::shut_down_when_unused(std::chrono::milliseconds bound) {
  {
    std::unique_lock guard(mutex_);
    if (!unused_.wait_for(guard, bound, [this] { return leases_ == 0; }))
      return false;
    if (shut_down_)
      return true;  // an earlier call shut them down and joined the threads
    shut_down_queues();
  }
  for (auto& thread : threads_)
    thread.join();
  return true;
}

}  // namespace s2s::rpc
