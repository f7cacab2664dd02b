// The grpc++ halves of a proxied call: they turn reactor callbacks into call-actor messages.
#include "actors/grpc_halves.hpp"

#include <caf/send.hpp>

#include "actors/inline_run.hpp"

namespace s2s::actors {
namespace {

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

server_half::server_half(grpc::GenericCallbackServerContext* context) : context_(context) {
  info_.method = context->method();
  info_.metadata = forwardable(context->client_metadata());
  info_.deadline = context->deadline();
  info_.peer = context->peer();
  info_.server_context = context;
}

std::shared_ptr<server_half> server_half::create(grpc::GenericCallbackServerContext* context) {
  std::shared_ptr<server_half> half(new server_half(context));
  half->keep_alive_ = half;
  return half;
}

template <class Message>
void server_half::notify(Message message) {
  call_actor owner;
  {
    std::lock_guard guard(mutex_);
    owner = owner_;
  }
  if (owner)
    deliver(owner, std::move(message));
}

void server_half::bind(call_actor owner) {
  bool cancelled;
  {
    std::lock_guard guard(mutex_);
    owner_ = owner;
    cancelled = cancelled_;
  }
  if (cancelled)
    deliver(owner, downstream_cancelled{});
}

void server_half::grant_reads(std::size_t count) {
  {
    std::lock_guard guard(mutex_);
    ++outside_starts_;
  }
  grant(count);
  std::optional<grpc::Status> finish_now;
  {
    std::lock_guard guard(mutex_);
    if (--outside_starts_ == 0 && !writes_.writing && writes_.waiting.empty())
      finish_now = std::exchange(pending_status_, std::nullopt);
  }
  if (finish_now)
    Finish(*finish_now);
}

void server_half::return_grants_to(std::weak_ptr<read_gate> peer) { return_grants(std::move(peer)); }

void server_half::write(grpc::ByteBuffer message) { enqueue(std::move(message)); }

void server_half::send_metadata(const metadata_list& headers) {
  for (const auto& [key, value] : headers)
    context_->AddInitialMetadata(key, value);
  StartSendInitialMetadata();
}

void server_half::finish(const grpc::Status& status, const metadata_list& trailers) {
  bool now;
  {
    std::lock_guard guard(mutex_);
    if (finished_)
      return;
    finished_ = true;
    reads_.ended = true;  // nothing more is read from a call that is over
    // Messages still queued go out first; the last write completion sends the status. A read
    // being started elsewhere goes first too.
    now = !writes_.writing && writes_.waiting.empty() && outside_starts_ == 0;
    if (!now)
      pending_status_ = status;
  }
  for (const auto& [key, value] : trailers)
    context_->AddTrailingMetadata(key, value);
  if (now)
    Finish(status);
}

void server_half::OnReadDone(bool ok) {
  if (!ok) {
    reads_over();
    return notify(downstream_read_end{});
  }
  notify(downstream_read{read_buffer_});
  read_again();
}

void server_half::OnWriteDone(bool ok) {
  if (!ok) {
    {
      std::lock_guard guard(mutex_);
      writes_.writing = false;
      writes_.waiting.clear();  // the caller is gone; the actor ends the call
    }
    notify(downstream_write_failed{});
  } else if (write_again()) {
    return;
  }
  // Nothing more is queued: a status waiting for the queue goes now.
  std::optional<grpc::Status> finish_now;
  {
    std::lock_guard guard(mutex_);
    if (outside_starts_ == 0)
      finish_now = std::exchange(pending_status_, std::nullopt);
  }
  if (finish_now)
    Finish(*finish_now);
}

void server_half::OnCancel() {
  {
    std::lock_guard guard(mutex_);
    cancelled_ = true;
  }
  notify(downstream_cancelled{});
}

void server_half::OnDone() {
  // grpc++ is done with this reactor; whoever still holds it only sees a finished call.
  auto last_reference = std::move(keep_alive_);
}

// --- client_half ---------------------------------------------------------------------------

client_half::client_half(const call_info& info, call_actor owner) : owner_(std::move(owner)) {
  reads_.ready = false;
  if (info.server_context)
    context_ = grpc::ClientContext::FromCallbackServerContext(*info.server_context);
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
  half->keep_alive_ = half;
  grpc::GenericStub stub(channel);
  stub.PrepareBidiStreamingCall(half->context_.get(), info.method, grpc::StubOptions(),
                                half.get());
  // Held until the call actor promises to start nothing more (release()).
  half->AddHold();
  half->StartCall();
  return half;
}

template <class Start>
void client_half::while_held(Start&& start) {
  {
    std::lock_guard guard(mutex_);
    if (released_)
      return;  // the call is over: there is nothing left to start
    ++outside_starts_;
  }
  start();
  bool remove;
  {
    std::lock_guard guard(mutex_);
    --outside_starts_;
    remove = release_asked_ && outside_starts_ == 0 && !released_;
    if (remove)
      released_ = true;
  }
  if (remove)
    RemoveHold();
}

void client_half::grant_reads(std::size_t count) {
  while_held([&] { grant(count); });
}

void client_half::return_grants_to(std::weak_ptr<read_gate> peer) { return_grants(std::move(peer)); }

void client_half::write(grpc::ByteBuffer message) {
  while_held([&] { enqueue(std::move(message)); });
}

void client_half::writes_done() {
  while_held([&] {
    bool start = false, read_over = false;
    {
      std::lock_guard guard(mutex_);
      writes_done_requested_ = true;
      if (!writes_.writing && writes_.waiting.empty() && !writes_done_started_)
        start = writes_done_started_ = true;
      read_over = reads_.ended;
    }
    if (start) {
      StartWritesDone();
      if (read_over)
        release();  // takes effect when this start is over
    }
  });
}

void client_half::cancel() { context_->TryCancel(); }

void client_half::release() {
  bool remove;
  {
    std::lock_guard guard(mutex_);
    release_asked_ = true;
    remove = outside_starts_ == 0 && !released_;
    if (remove)
      released_ = true;
  }
  if (remove)
    RemoveHold();
}

void client_half::OnReadInitialMetadataDone(bool ok) {
  upstream_metadata message{ok, {}};
  if (ok)
    message.headers = forwardable(context_->GetServerInitialMetadata());
  // The headers reach the actor before any message: reading starts only after this send.
  deliver(owner_, std::move(message));
  bool start;
  {
    std::lock_guard guard(mutex_);
    reads_.ready = true;
    start = reads_.take();
  }
  if (start)
    StartRead(&read_buffer_);
}

void client_half::OnReadDone(bool ok) {
  if (!ok) {
    bool release_now;
    {
      std::lock_guard guard(mutex_);
      reads_.reading = false;
      reads_.ended = true;
      release_now = writes_done_started_ || write_failed_;
    }
    deliver(owner_, upstream_read_end{});
    // Both directions are over and the actor has nothing left to start: let the status come
    // without waiting for the actor's release.
    if (release_now)
      release();
    return;
  }
  deliver(owner_, upstream_read{read_buffer_});
  read_again();
}

void client_half::OnWriteDone(bool ok) {
  if (!ok) {
    {
      std::lock_guard guard(mutex_);
      writes_.writing = false;
      writes_.waiting.clear();  // the upstream call is over; its status follows
      write_failed_ = true;
    }
    deliver(owner_, upstream_write_failed{});
    return;
  }
  if (write_again())
    return;
  bool close = false, read_over = false;
  {
    std::lock_guard guard(mutex_);
    read_over = reads_.ended;
    if (writes_done_requested_ && !writes_done_started_ && !writes_.writing)
      close = writes_done_started_ = true;
  }
  if (close) {
    StartWritesDone();
    if (read_over)
      release();
  }
}

void client_half::OnDone(const grpc::Status& status) {
  {
    std::lock_guard guard(mutex_);
    reads_.ended = true;  // grpc++ takes no more operations on this call
  }
  deliver(owner_, upstream_done{status, forwardable(context_->GetServerTrailingMetadata())});
  auto last_reference = std::move(keep_alive_);
}

// --- channel_target ------------------------------------------------------------------------

std::shared_ptr<upstream_port> channel_target::open(const call_info& info, call_actor owner) {
  return client_half::start(channel_, info, std::move(owner));
}

}  // namespace s2s::actors
