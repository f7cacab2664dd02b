// The grpc++ halves of a proxied call: they turn completions of grpc++'s asynchronous calls into
// call-actor messages.
//
// Both halves of a call complete on the completion queue that accepted it (see
// rpc/completion_queues.hpp), so a call's events are handled on the thread that read them. No
// operation is started after a half's last one (the status) and every pending operation keeps
// its half alive, so a tag never points at freed memory.
#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include <grpcpp/channel.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>

#include "actors/call.hpp"
#include "actors/scheduling.hpp"
#include "rpc/stream_channels.hpp"

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
  std::uint64_t taken = 0;   // writes started so far

  void push(grpc::ByteBuffer message) {
    auto length = message.Length();
    if (length >= large_message_bytes)
      note_large_message();
    bytes += length;
    waiting.push_back(std::move(message));
  }
  // True when a write of `in_flight` should start now.
  bool take() {
    if (writing || waiting.empty())
      return false;
    in_flight = std::move(waiting.front());
    waiting.pop_front();
    writing = true;
    ++taken;
    return true;
  }
  // The write in flight completed; returns the read grants to give back now.
  std::size_t written() {
    writing = false;
    auto length = in_flight.Length();
    if (length >= large_message_bytes)
      note_large_message();  // its memory is about to be freed
    bytes -= length;
    ++owed;
    return bytes < byte_budget ? std::exchange(owed, 0) : 0;
  }
};

// Read grants, the write queue, and the pending operations of one half, under the lock that the
// actor's thread and the completion thread both take. Operations start under the lock (grpc++
// completes nothing inline on this API); messages to the actor and grants to the other half go
// out after it is released. Reads start as soon as they are granted. Everything else a half
// sends (headers, messages, the half-close, the status) is started by its pump, which a
// completion thread runs once the completions at hand are handled, so that what became due
// together goes out in one batch.
template <class Half>
class paced_io : public rpc::flushable, public std::enable_shared_from_this<Half> {
 protected:
  using guard = std::unique_lock<std::mutex>;

  void grant(std::size_t count) {
    guard lock(mutex_);
    reads_.granted += count;
    read_if_granted(lock);
  }
  void enqueue(grpc::ByteBuffer message) {
    {
      guard lock(mutex_);
      if (closed_)
        return;
      writes_.push(std::move(message));
    }
    schedule();
  }
  // After a successful write: returns the other half the grants it is owed, and pumps.
  void written() {
    std::size_t grants;
    std::shared_ptr<read_gate> peer;
    {
      guard lock(mutex_);
      grants = writes_.written();
      half().pump(lock);
      peer = peer_.lock();
    }
    if (grants > 0 && peer)
      peer->grant_reads(grants);
  }
  // After a failed write: nothing queued can be written any more.
  void writes_broken() {
    guard lock(mutex_);
    writes_.writing = false;
    writes_.waiting.clear();
  }
  void return_grants(std::weak_ptr<read_gate> peer) {
    guard lock(mutex_);
    peer_ = std::move(peer);
  }
  // After a read delivered its message: the next one, if a grant is left.
  void read_again() {
    guard lock(mutex_);
    reads_.reading = false;
    read_if_granted(lock);
  }
  // After a read found the messages at their end.
  void reads_over() {
    guard lock(mutex_);
    reads_.reading = false;
    reads_.ended = true;
  }
  void read_if_granted(guard& lock) {
    if (!closed_ && reads_.take())
      half().start_read(lock);
  }

  // Runs the pump at the end of the completion batch on a completion thread, now elsewhere.
  void schedule() {
    guard lock(mutex_);
    if (flush_due_)
      return;  // already waiting for the end of the batch
    flush_due_ = rpc::completion_queues::defer(this->shared_from_this());
    if (!flush_due_)
      half().pump(lock);
  }
  void flush() override {
    guard lock(mutex_);
    flush_due_ = false;
    half().pump(lock);
  }

  // Every operation started counts until its completion has run; the half keeps itself alive
  // meanwhile. Called under the lock.
  void began(guard&) {
    if (pending_++ == 0)
      self_ = this->shared_from_this();
  }
  // Ends the completion that is running: the last statement of each completion handler, since
  // the half may be gone after it.
  void ended() {
    std::shared_ptr<Half> last;
    {
      guard lock(mutex_);
      if (--pending_ == 0)
        last = std::move(self_);
    }
  }

  std::mutex mutex_;
  grpc::ByteBuffer read_buffer_;
  read_pacing reads_;
  write_queue writes_;
  std::weak_ptr<read_gate> peer_;
  bool closed_ = false;  // the half's last operation has started: nothing more may start

 private:
  Half& half() { return static_cast<Half&>(*this); }
  bool flush_due_ = false;
  int pending_ = 0;
  std::shared_ptr<Half> self_;
};

class server_half;

// Told of each call a server half was waiting for; `half` is null when the server is shutting
// down instead. Runs on the completion thread of `queue`.
class call_acceptor {
 public:
  virtual ~call_acceptor() = default;
  virtual void accepted(std::shared_ptr<server_half> half, grpc::ServerCompletionQueue* queue) = 0;
};

// The caller's side: one call of a generic asynchronous service.
class server_half final : public downstream_port, public paced_io<server_half> {
 public:
  // Waits for the next call on `queue`; its operations complete on the same queue.
  static void await_call(grpc::AsyncGenericService& service, grpc::ServerCompletionQueue* queue,
                         std::shared_ptr<rpc::completion_queues> queues,
                         std::shared_ptr<call_acceptor> acceptor);

  const call_info& info() const override { return info_; }
  void bind(call_actor owner) override;
  void grant_reads(std::size_t count) override;
  void return_grants_to(std::weak_ptr<read_gate> peer) override;
  void write(grpc::ByteBuffer message) override;
  void send_metadata(const metadata_list& headers) override;
  void finish(const grpc::Status& status, const metadata_list& trailers) override;

 private:
  friend class paced_io<server_half>;

  server_half(grpc::ServerCompletionQueue* queue, std::shared_ptr<rpc::completion_queues> queues,
              std::shared_ptr<call_acceptor> acceptor);
  template <class Message>
  void notify(Message message);
  void start_read(guard& lock);
  // Starts what is due: the next message (with the status, if it is the last), the status, or
  // the headers alone.
  void pump(guard& lock);

  void on_accepted(bool ok);
  void on_read(bool ok);
  void on_written(bool ok);
  void on_metadata_sent(bool ok);
  void on_finished(bool ok);
  void on_done(bool ok);

  rpc::completion_queues::lease lease_;  // first: the queue outlives everything below
  grpc::ServerCompletionQueue* queue_;
  std::shared_ptr<call_acceptor> acceptor_;  // kept while a call may still be told to it
  grpc::GenericServerContext context_;
  grpc::GenericServerAsyncReaderWriter stream_{&context_};
  call_info info_;
  // Guarded by mutex_, like the reads and writes.
  call_actor owner_;
  bool cancelled_ = false;
  bool metadata_wanted_ = false;  // the upstream's headers are in: send them, if nothing else does
  bool metadata_sent_ = false;
  std::optional<grpc::Status> status_;  // finish() was asked; sent with or after the last write

  rpc::completion_of<server_half, &server_half::on_accepted> accepted_tag_{this};
  rpc::completion_of<server_half, &server_half::on_read> read_tag_{this};
  rpc::completion_of<server_half, &server_half::on_written> write_tag_{this};
  rpc::completion_of<server_half, &server_half::on_metadata_sent> metadata_tag_{this};
  rpc::completion_of<server_half, &server_half::on_finished> finish_tag_{this};
  rpc::completion_of<server_half, &server_half::on_done> done_tag_{this};
};

// The upstream side: a generic asynchronous client call on a channel. It completes on the queue
// of the call's server half (call_info::queue), which every call the proxy forwards has.
class client_half final : public upstream_port, public paced_io<client_half> {
 public:
  static std::shared_ptr<client_half> start(const std::shared_ptr<grpc::Channel>& channel,
                                            const call_info& info, call_actor owner);

  void grant_reads(std::size_t count) override;
  void return_grants_to(std::weak_ptr<read_gate> peer) override;
  void write(grpc::ByteBuffer message) override;
  void writes_done() override;
  void cancel() override;
  void release() override;

 private:
  friend class paced_io<client_half>;

  client_half(const call_info& info, call_actor owner);
  void start_read(guard& lock);
  // Starts what is due: the call (its headers ride with the first message when one is queued),
  // the next message (with the half-close, if it is the last), or the half-close alone.
  void pump(guard& lock);
  // Tells the actor the call's status once it is in and no read will deliver more.
  void deliver_status_if_due();

  void on_started(bool ok);
  void on_metadata(bool ok);
  void on_read(bool ok);
  void on_written(bool ok);
  void on_writes_closed(bool ok);
  void on_finished(bool ok);

  rpc::completion_queues::lease lease_;  // first: the queue outlives everything below
  // The call's channel lives as long as the call: a stream's channel of its own (see
  // rpc::stream_channels) closes its connection once the last stream on it has ended.
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> stream_;
  call_actor owner_;
  grpc::Status status_;
  // Guarded by mutex_, like the reads and writes.
  bool started_ = false;
  bool starting_ = false;  // the headers are being sent alone, in grpc++'s write slot
  bool writes_done_requested_ = false;
  bool writes_done_started_ = false;
  bool release_asked_ = false;
  bool status_in_ = false;
  bool status_told_ = false;

  rpc::completion_of<client_half, &client_half::on_started> started_tag_{this};
  rpc::completion_of<client_half, &client_half::on_metadata> metadata_tag_{this};
  rpc::completion_of<client_half, &client_half::on_read> read_tag_{this};
  rpc::completion_of<client_half, &client_half::on_written> write_tag_{this};
  rpc::completion_of<client_half, &client_half::on_writes_closed> writes_done_tag_{this};
  rpc::completion_of<client_half, &client_half::on_finished> finish_tag_{this};
};

// Opens upstream calls on one gRPC channel; with `streams`, long-lived streams on channels of
// their own instead.
class channel_target final : public upstream_target {
 public:
  explicit channel_target(std::shared_ptr<grpc::Channel> channel,
                          std::shared_ptr<rpc::stream_channels> streams = nullptr)
      : channel_(std::move(channel)), streams_(std::move(streams)) {}
  std::shared_ptr<upstream_port> open(const call_info& info, call_actor owner) override;
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::shared_ptr<rpc::stream_channels> streams_;
};

}  // namespace s2s::actors
