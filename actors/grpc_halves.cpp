// The grpc++ halves of a proxied call: they turn completions of grpc++'s asynchronous calls into
// call-actor messages.
#include "actors/grpc_halves.hpp"

#include "actors/inline_run.hpp"

namespace s2s::actors {
namespace {

// A small message with more queued behind it may wait in grpc's write buffer: grpc completes
// such a write at once while less than its write buffer (64 KiB) waits, and the next write
// without the hint (the last queued, or the status) sends them all in one go. Without it, each
// message of a busy stream cost the proxy a system call and the peer a wake-up of its own. A
// large message fills a write by itself and goes without the hint. So does a half's first
// write, which may carry the call's headers: grpc holds headers sent with a hinted message
// until some later write, and completes that batch only once they are out.
constexpr std::size_t coalesced_message_bytes = 16 * 1024;

grpc::WriteOptions more_follow(const write_queue& writes) {
  grpc::WriteOptions options;
  bool small = writes.in_flight.Length() < coalesced_message_bytes;
  if (writes.taken > 1 && !writes.waiting.empty() && small)
    options.set_buffer_hint();
  return options;
}

template <class Multimap>
metadata_list forwardable(const Multimap& entries) {
  metadata_list out;
  for (const auto& [key, value] : entries) {
    std::string_view name(key.data(), key.size());
    if (rpc::is_forwardable_header(name))
      out.emplace_back(std::string(name), std::string(value.data(), value.size()));
  }
  return out;
}

}  // namespace

// --- server_half ---------------------------------------------------------------------------

server_half::server_half(grpc::ServerCompletionQueue* queue,
                         std::shared_ptr<rpc::completion_queues> queues,
                         std::shared_ptr<call_acceptor> acceptor)
    : lease_(queues), queue_(queue), acceptor_(std::move(acceptor)) {
  info_.queue = queue;
  info_.queues = std::move(queues);
}

void server_half::await_call(grpc::AsyncGenericService& service, grpc::ServerCompletionQueue* queue,
                             std::shared_ptr<rpc::completion_queues> queues,
                             std::shared_ptr<call_acceptor> acceptor) {
  std::shared_ptr<server_half> half(new server_half(queue, std::move(queues), std::move(acceptor)));
  guard lock(half->mutex_);
  // Told when the call is over, by its status or by the caller's cancellation; grpc++ takes
  // this only before the call arrives, and tells it only of a call that arrived.
  half->began(lock);
  half->context_.AsyncNotifyWhenDone(&half->done_tag_);
  half->began(lock);
  service.RequestCall(&half->context_, &half->stream_, queue, queue, &half->accepted_tag_);
}

void server_half::on_accepted(bool ok) {
  if (!ok) {
    acceptor_->accepted(nullptr, queue_);  // the server is shutting down
    ended();  // the call that never came is never done either
    return ended();
  }
  info_.method = context_.method();
  info_.metadata = forwardable(context_.client_metadata());
  info_.deadline = context_.deadline();
  info_.peer = context_.peer();
  info_.server_context = &context_;
  acceptor_->accepted(shared_from_this(), queue_);
  ended();
}

template <class Message>
void server_half::notify(Message message) {
  call_actor owner;
  {
    guard lock(mutex_);
    owner = owner_;
  }
  if (owner)
    deliver(owner, std::move(message));
}

void server_half::bind(call_actor owner) {
  bool cancelled;
  {
    guard lock(mutex_);
    owner_ = owner;
    cancelled = cancelled_;
  }
  if (cancelled)
    deliver(owner, downstream_cancelled{});
}

void server_half::grant_reads(std::size_t count) { grant(count); }

void server_half::return_grants_to(std::weak_ptr<read_gate> peer) { return_grants(std::move(peer)); }

void server_half::write(grpc::ByteBuffer message) { enqueue(std::move(message)); }

void server_half::send_metadata(const metadata_list& headers) {
  {
    guard lock(mutex_);
    if (closed_ || metadata_wanted_)
      return;
    metadata_wanted_ = true;
    for (const auto& [key, value] : headers)
      context_.AddInitialMetadata(key, value);
  }
  schedule();
}

void server_half::finish(const grpc::Status& status, const metadata_list& trailers) {
  guard lock(mutex_);
  if (closed_ || status_)
    return;
  for (const auto& [key, value] : trailers)
    context_.AddTrailingMetadata(key, value);
  status_ = status;
  reads_.ended = true;  // nothing more is read from a call that is over
  // Nothing follows the status, so there is nothing to wait for: the messages still queued go
  // out now, the status with the last of them.
  pump(lock);
}

void server_half::start_read(guard& lock) {
  began(lock);
  stream_.Read(&read_buffer_, &read_tag_);
}

void server_half::pump(guard& lock) {
  if (closed_ || writes_.writing)
    return;  // a write's completion pumps again
  if (writes_.take()) {
    metadata_sent_ = true;  // a write carries the headers that were not sent yet
    began(lock);
    // grpc++ takes a message and the status together only when the status is OK.
    if (status_ && status_->ok() && writes_.waiting.empty()) {
      closed_ = true;
      stream_.WriteAndFinish(writes_.in_flight, grpc::WriteOptions(), *status_, &finish_tag_);
    } else {
      stream_.Write(writes_.in_flight, more_follow(writes_), &write_tag_);
    }
  } else if (status_) {
    closed_ = true;
    began(lock);
    stream_.Finish(*status_, &finish_tag_);
  } else if (metadata_wanted_ && !metadata_sent_) {
    metadata_sent_ = true;
    began(lock);
    stream_.SendInitialMetadata(&metadata_tag_);
  }
}

void server_half::on_read(bool ok) {
  if (!ok) {
    reads_over();
    notify(downstream_read_end{});
  } else {
    notify(downstream_read{std::move(read_buffer_)});
    read_again();
  }
  ended();
}

void server_half::on_written(bool ok) {
  if (ok) {
    written();
  } else {
    writes_broken();  // the caller is gone; the actor ends the call
    notify(downstream_write_failed{});
    guard lock(mutex_);
    pump(lock);  // a status asked for meanwhile goes now
  }
  ended();
}

void server_half::on_metadata_sent(bool) { ended(); }

void server_half::on_finished(bool) { ended(); }

void server_half::on_done(bool) {
  bool cancelled = context_.IsCancelled();
  if (cancelled) {
    {
      guard lock(mutex_);
      cancelled_ = true;
    }
    notify(downstream_cancelled{});
  }
  ended();
}

// --- client_half ---------------------------------------------------------------------------

client_half::client_half(const call_info& info, call_actor owner)
    : lease_(info.queues), owner_(std::move(owner)) {
  reads_.ready = false;
  if (info.server_context)
    context_ = grpc::ClientContext::FromServerContext(*info.server_context);
  else
    context_ = std::make_unique<grpc::ClientContext>();
  if (!info.server_context && info.deadline != std::chrono::system_clock::time_point::max())
    context_->set_deadline(info.deadline);
  for (const auto& [key, value] : info.metadata)
    context_->AddMetadata(key, value);
}

std::shared_ptr<client_half> client_half::start(const std::shared_ptr<grpc::Channel>& channel,
                                                const call_info& info, call_actor owner) {
  std::shared_ptr<client_half> half(new client_half(info, std::move(owner)));
  half->channel_ = channel;
  grpc::GenericStub stub(channel);
  half->stream_ = stub.PrepareCall(half->context_.get(), info.method, info.queue);
  // The call starts at the pump, with the first message if the caller's has arrived by then.
  half->schedule();
  return half;
}

void client_half::grant_reads(std::size_t count) { grant(count); }

void client_half::return_grants_to(std::weak_ptr<read_gate> peer) { return_grants(std::move(peer)); }

void client_half::write(grpc::ByteBuffer message) { enqueue(std::move(message)); }

void client_half::writes_done() {
  // Nothing is written after the half-close: it goes now, with the last message still queued.
  guard lock(mutex_);
  writes_done_requested_ = true;
  pump(lock);
}

void client_half::cancel() { context_->TryCancel(); }

void client_half::release() {
  {
    guard lock(mutex_);
    release_asked_ = true;
  }
  deliver_status_if_due();
}

void client_half::start_read(guard& lock) {
  began(lock);
  stream_->Read(&read_buffer_, &read_tag_);
}

void client_half::pump(guard& lock) {
  if (!started_) {
    started_ = true;
    if (!writes_.waiting.empty() || writes_done_requested_) {
      // Held back, the headers go out in the batch of the first message or the half-close.
      context_->set_initial_metadata_corked(true);
      stream_->StartCall(nullptr);
    } else {
      starting_ = true;
      began(lock);
      stream_->StartCall(&started_tag_);
    }
    began(lock);
    stream_->ReadInitialMetadata(&metadata_tag_);
  }
  if (starting_ || writes_.writing || writes_done_started_)
    return;  // a completion pumps again
  if (writes_.take()) {
    began(lock);
    if (writes_done_requested_ && writes_.waiting.empty()) {
      writes_done_started_ = true;
      stream_->Write(writes_.in_flight, grpc::WriteOptions().set_last_message(), &write_tag_);
    } else {
      stream_->Write(writes_.in_flight, more_follow(writes_), &write_tag_);
    }
  } else if (writes_done_requested_) {
    writes_done_started_ = true;
    began(lock);
    stream_->WritesDone(&writes_done_tag_);
  }
}

void client_half::deliver_status_if_due() {
  {
    guard lock(mutex_);
    // Every message read goes to the actor before the status; without a read to come (the
    // responses ended, or the actor asks for nothing more) the status goes now.
    if (!status_in_ || status_told_ || reads_.reading || !(reads_.ended || release_asked_))
      return;
    status_told_ = true;
    reads_.ended = true;
  }
  deliver(owner_, upstream_done{status_, forwardable(context_->GetServerTrailingMetadata())});
}

void client_half::on_started(bool) {
  {
    guard lock(mutex_);
    starting_ = false;
    pump(lock);
  }
  ended();
}

void client_half::on_metadata(bool ok) {
  upstream_metadata message{ok, {}};
  if (ok)
    message.headers = forwardable(context_->GetServerInitialMetadata());
  // The headers reach the actor before any message: reading starts only after this send.
  deliver(owner_, std::move(message));
  {
    guard lock(mutex_);
    // The status is asked for only now: asked earlier it would read the headers itself.
    began(lock);
    stream_->Finish(&status_, &finish_tag_);
    reads_.ready = true;
    read_if_granted(lock);
  }
  ended();
}

void client_half::on_read(bool ok) {
  if (!ok) {
    reads_over();
    deliver(owner_, upstream_read_end{});
    deliver_status_if_due();
  } else {
    deliver(owner_, upstream_read{std::move(read_buffer_)});
    read_again();
    deliver_status_if_due();
  }
  ended();
}

void client_half::on_written(bool ok) {
  if (ok) {
    written();
  } else {
    writes_broken();  // the upstream call is over; its status follows
    deliver(owner_, upstream_write_failed{});
  }
  ended();
}

void client_half::on_writes_closed(bool) { ended(); }

void client_half::on_finished(bool) {
  {
    // Reads go on until they end: responses the transport still holds reach the actor first.
    guard lock(mutex_);
    status_in_ = true;
  }
  deliver_status_if_due();
  ended();
}

// --- channel_target ------------------------------------------------------------------------

std::shared_ptr<upstream_port> channel_target::open(const call_info& info, call_actor owner) {
  if (streams_ && streams_->wants_own(info.method))
    return client_half::start(streams_->for_stream(), info, std::move(owner));
  return client_half::start(channel_, info, std::move(owner));
}

}  // namespace s2s::actors
