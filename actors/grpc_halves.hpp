// The grpc++ halves of a proxied call: they turn reactor callbacks into call-actor messages.
#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include <grpcpp/channel.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/client_callback.h>

#include "actors/call.hpp"

namespace s2s::actors {

// Reads a half may still start without asking the actor. `ready` is false until reading may
// begin (the upstream's headers arrived).
struct read_pacing {
  std::size_t granted = 0;
  bool reading = false;
  bool ended = false;
  bool ready = true;
  // True when a read should start now; marks it started.
  bool take() {
    if (reading || ended || !ready || granted == 0)
      return false;
    --granted;
    reading = true;
    return true;
  }
};

// Messages waiting to be written, one at a time, in order, and the read grants their writes
// give back to the other half: one per message written, held back while more than the byte
// budget still waits here, so a fast sender cannot fill the proxy's memory.
struct write_queue {
  static constexpr std::size_t byte_budget = 8 * 1024 * 1024;

  std::deque<grpc::ByteBuffer> waiting;
  grpc::ByteBuffer in_flight;  // must live until its write completes
  bool writing = false;
  std::size_t bytes = 0;     // waiting and in flight
  std::size_t owed = 0;      // grants held back by the budget

  void push(grpc::ByteBuffer message) {
    bytes += message.Length();
    waiting.push_back(std::move(message));
  }
  // True when a write of `in_flight` should start now.
  bool take() {
    if (writing || waiting.empty())
      return false;
    in_flight = std::move(waiting.front());
    waiting.pop_front();
    writing = true;
    return true;
  }
  // The write in flight completed; returns the read grants to give back now.
  std::size_t written() {
    writing = false;
    bytes -= in_flight.Length();
    ++owed;
    return bytes < byte_budget ? std::exchange(owed, 0) : 0;
  }
};

// Read grants and the write queue of one half, with the lock that the actor's thread and
// grpc++'s threads both take. Operations start outside the lock.
template <class Half>
class paced_io {
 protected:
  void grant(std::size_t count) {
    bool start;
    {
      std::lock_guard guard(mutex_);
      reads_.granted += count;
      start = reads_.take();
    }
    if (start)
      half().StartRead(&read_buffer_);
  }
  void enqueue(grpc::ByteBuffer message) {
    bool start;
    {
      std::lock_guard guard(mutex_);
      writes_.push(std::move(message));
      start = writes_.take();
    }
    if (start)
      half().StartWrite(&writes_.in_flight);
  }
  // After a successful write: returns the other half its grants, and starts the next write.
  // Returns false when nothing more is queued.
  bool write_again() {
    bool again;
    std::size_t grants;
    std::shared_ptr<read_gate> peer;
    {
      std::lock_guard guard(mutex_);
      grants = writes_.written();
      again = writes_.take();
      peer = peer_.lock();
    }
    if (grants > 0 && peer)
      peer->grant_reads(grants);
    if (again)
      half().StartWrite(&writes_.in_flight);
    return again;
  }
  void return_grants(std::weak_ptr<read_gate> peer) {
    std::lock_guard guard(mutex_);
    peer_ = std::move(peer);
  }
  // After a read delivered its message: the next one, if a grant is left.
  void read_again() {
    bool again;
    {
      std::lock_guard guard(mutex_);
      reads_.reading = false;
      again = reads_.take();
    }
    if (again)
      half().StartRead(&read_buffer_);
  }
  void reads_over() {
    std::lock_guard guard(mutex_);
    reads_.reading = false;
    reads_.ended = true;
  }

  std::mutex mutex_;
  grpc::ByteBuffer read_buffer_;
  read_pacing reads_;
  write_queue writes_;
  std::weak_ptr<read_gate> peer_;

 private:
  Half& half() { return static_cast<Half&>(*this); }
};

// The caller's side: a generic server reactor. It owns itself until grpc++ calls OnDone.
class server_half final : public grpc::ServerGenericBidiReactor,
                          public downstream_port,
                          private paced_io<server_half> {
 public:
  static std::shared_ptr<server_half> create(grpc::GenericCallbackServerContext* context);

  const call_info& info() const override { return info_; }
  void bind(call_actor owner) override;
  void grant_reads(std::size_t count) override;
  void return_grants_to(std::weak_ptr<read_gate> peer) override;
  void write(grpc::ByteBuffer message) override;
  void send_metadata(const metadata_list& headers) override;
  void finish(const grpc::Status& status, const metadata_list& trailers) override;

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;
  // OnDone only lets go of the reactor's own reference, so grpc++ may run it on the thread
  // where the call ends instead of handing it to its executor.
  bool InternalInlineable() override { return true; }

 private:
  explicit server_half(grpc::GenericCallbackServerContext* context);
  template <class Message>
  void notify(Message message);

  friend class paced_io<server_half>;

  grpc::GenericCallbackServerContext* context_;
  call_info info_;
  // Guarded by mutex_, like the reads and writes.
  call_actor owner_;
  bool cancelled_ = false;
  bool finished_ = false;
  std::optional<grpc::Status> pending_status_;  // finish() waits for queued writes
  // Reads being started by the other half's thread: grpc++ may free the call once the status
  // is sent, so the status waits for them.
  int outside_starts_ = 0;
  std::shared_ptr<server_half> keep_alive_;
};

// The upstream side: a generic client reactor on a channel. Owns itself until OnDone.
class client_half final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
                          public upstream_port,
                          private paced_io<client_half> {
 public:
  static std::shared_ptr<client_half> start(const std::shared_ptr<grpc::Channel>& channel,
                                            const call_info& info, call_actor owner);

  void grant_reads(std::size_t count) override;
  void return_grants_to(std::weak_ptr<read_gate> peer) override;
  void write(grpc::ByteBuffer message) override;
  void writes_done() override;
  void cancel() override;
  void release() override;

  void OnReadInitialMetadataDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;
  // grpc++ hands OnDone to its executor when the call ends by RemoveHold, for reactors whose
  // OnDone might need locks their caller holds. This one takes no lock that release() holds,
  // and only tells the call actor (which queues it if busy) and lets go of itself: it runs
  // where the call ends, which saves a thread hand-off per call.
  void InternalScheduleOnDone(grpc::Status status) override { OnDone(status); }

 private:
  client_half(const call_info& info, call_actor owner);
  // Runs `start`, which may begin a grpc++ operation, from outside grpc++'s reactions (the
  // actor's thread, the other half's), but only while the hold keeps the call open: once the
  // hold is gone grpc++ may have freed the call. A release asked for meanwhile waits for it.
  template <class Start>
  void while_held(Start&& start);

  friend class paced_io<client_half>;

  std::unique_ptr<grpc::ClientContext> context_;
  call_actor owner_;
  // Guarded by mutex_, like the reads and writes.
  bool writes_done_requested_ = false;
  bool writes_done_started_ = false;
  bool write_failed_ = false;
  // The hold taken at start: how many outside starts are running, whether a release waits for
  // them, and whether it is gone.
  int outside_starts_ = 0;
  bool release_asked_ = false;
  bool released_ = false;
  std::shared_ptr<client_half> keep_alive_;
};

// Opens upstream calls on one gRPC channel.
class channel_target final : public upstream_target {
 public:
  explicit channel_target(std::shared_ptr<grpc::Channel> channel) : channel_(std::move(channel)) {}
  std::shared_ptr<upstream_port> open(const call_info& info, call_actor owner) override;
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace s2s::actors
