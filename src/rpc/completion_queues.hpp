// Completion queues with a thread each, on which grpc++'s asynchronous calls complete.
//
// A thread that waits on a completion queue also runs grpc's I/O for it, so a completion is
// handled on the thread that read its bytes: no hand-off to another thread per event, which
// is what grpc++'s callback API costs in this grpc version. Each completion's tag is a
// `completion`, run on the queue's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <grpcpp/completion_queue.h>

namespace s2s::rpc {

// The tag of one pending grpc++ operation: told whether the operation succeeded.
class completion {
 public:
  virtual void complete(bool ok) = 0;

 protected:
  ~completion() = default;
};

// A completion that runs a member function of its owner.
template <class Owner, void (Owner::*Handler)(bool)>
class completion_of final : public completion {
 public:
  explicit completion_of(Owner* owner) : owner_(owner) {}
  void complete(bool ok) override { (owner_->*Handler)(ok); }

 private:
  Owner* owner_;
};

// Work a completion thread runs once the completions at hand are handled: a call half with
// several operations due (its headers, a message, the half-close or the status) starts them as
// one batch, which grpc writes to the socket at once instead of once per operation.
class flushable {
 public:
  virtual void flush() = 0;

 protected:
  ~flushable() = default;
};

class completion_queues {
 public:
  // Takes the queues (a server's, made by its builder, or plain ones) and starts their threads.
  explicit completion_queues(std::vector<std::unique_ptr<grpc::CompletionQueue>> queues);
  ~completion_queues();
  completion_queues(const completion_queues&) = delete;
  completion_queues& operator=(const completion_queues&) = delete;

  // Runs `work` once this thread has handled the completions at hand, if this is a completion
  // thread (and returns true); elsewhere returns false, and the caller does the work now.
  static bool defer(std::shared_ptr<flushable> work);

  std::size_t size() const { return queues_.size(); }
  grpc::CompletionQueue* queue(std::size_t index) const { return queues_[index].get(); }

  // Whatever starts operations on these queues holds a lease for as long as it may: the
  // queues are shut down only once no lease is left.
  class lease {
   public:
    lease() = default;
    explicit lease(std::shared_ptr<completion_queues> owner);
    lease(lease&& other) noexcept : owner_(std::move(other.owner_)) {}
    lease& operator=(lease&&) = delete;
    ~lease();

   private:
    std::shared_ptr<completion_queues> owner_;
  };

  // Waits up to `bound` for the last lease to go, then shuts the queues down and joins their
  // threads once they have drained. Returns false (and leaves the queues running, for the
  // leases still out) if the bound passed first.
  bool shut_down_when_unused(std::chrono::milliseconds bound);

 private:
  void run(grpc::CompletionQueue* queue);
  void shut_down_queues();  // under mutex_, once

  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable unused_;
  std::size_t leases_ = 0;
  bool shut_down_ = false;
};

}  // namespace s2s::rpc
