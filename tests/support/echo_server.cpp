// The EchoService reactors, the timer that paces their delays, and the server that hosts them.
#include "support/echo_server.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string_view>
#include <thread>

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include "s2s/testing/v1/echo.grpc.pb.h"
#include "support/files.hpp"

namespace s2s::testing {

using std::chrono::milliseconds;
using v1::EchoRequest;
using v1::EchoResponse;

std::string pattern_payload(std::size_t size) {
  std::string payload(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    payload[i] = static_cast<char>(i % 251);
  return payload;
}

// call_log

void call_log::call_started(std::optional<std::chrono::system_clock::time_point> deadline, std::string peer) {
  {
    std::lock_guard lock(mutex_);
    ++started_;
    ++in_flight_;
    last_deadline_ = deadline;
    peers_.push_back(std::move(peer));
  }
  changed_.notify_all();
}

void call_log::call_cancelled_by_client() {
  {
    std::lock_guard lock(mutex_);
    ++cancelled_;
  }
  changed_.notify_all();
}

void call_log::call_done() {
  {
    std::lock_guard lock(mutex_);
    --in_flight_;
  }
  changed_.notify_all();
}

std::size_t call_log::started() const {
  std::lock_guard lock(mutex_);
  return started_;
}

std::size_t call_log::in_flight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

std::size_t call_log::cancelled() const {
  std::lock_guard lock(mutex_);
  return cancelled_;
}

std::optional<std::chrono::system_clock::time_point> call_log::last_deadline() const {
  std::lock_guard lock(mutex_);
  return last_deadline_;
}

std::vector<std::string> call_log::peers() const {
  std::lock_guard lock(mutex_);
  return peers_;
}

bool call_log::wait_for_started(std::size_t count, milliseconds timeout) const {
  return wait_until(timeout, [&] { return started_ >= count; });
}

bool call_log::wait_for_in_flight(std::size_t count, milliseconds timeout) const {
  return wait_until(timeout, [&] { return in_flight_ >= count; });
}

bool call_log::wait_for_cancelled(std::size_t count, milliseconds timeout) const {
  return wait_until(timeout, [&] { return cancelled_ >= count; });
}

bool call_log::wait_for_idle(milliseconds timeout) const {
  return wait_until(timeout, [&] { return in_flight_ == 0; });
}

bool call_log::wait_until(milliseconds timeout, const std::function<bool()>& condition) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, condition);
}

// Runs short tasks after a delay on one thread, so a slow reply holds no gRPC thread while it waits.
class timer_queue {
 public:
  timer_queue() : thread_([this] { run(); }) {}

  ~timer_queue() {
    decltype(tasks_) dropped;
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      dropped.swap(tasks_);
    }
    wake_.notify_all();
    thread_.join();
  }

  void after(milliseconds delay, std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      tasks_.emplace(std::chrono::steady_clock::now() + delay, std::move(task));
    }
    wake_.notify_all();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      if (tasks_.empty()) {
        wake_.wait(lock);
        continue;
      }
      auto next = tasks_.begin();
      if (next->first > std::chrono::steady_clock::now()) {
        wake_.wait_until(lock, next->first);
        continue;
      }
      auto task = std::move(next->second);
      tasks_.erase(next);
      lock.unlock();
      task();
      task = nullptr;  // a task may hold the last reference to a call; release it unlocked
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;  // last, so it starts after the members it uses
};

namespace {

bool starts_with(const grpc::string_ref& key, std::string_view prefix) {
  return key.size() >= prefix.size() && std::string_view(key.data(), prefix.size()) == prefix;
}

std::string to_string(const grpc::string_ref& text) { return std::string(text.data(), text.size()); }

grpc::Status status_for(const EchoRequest& request) {
  if (!request.has_error())
    return grpc::Status::OK;
  const auto& error = request.error();
  return grpc::Status(static_cast<grpc::StatusCode>(error.code()), error.message(), error.details());
}

}  // namespace

// What every kind of call shares: the call's own lifetime, metadata echo, cancellation in both
// directions, and one mutex that orders the reactions, the timer tasks and the finish.
template <class Reactor>
class echo_call : public Reactor {
 public:
  void OnCancel() override {
    std::lock_guard lock(mutex_);
    if (!server_cancelled_)
      log_.call_cancelled_by_client();
    finish(grpc::Status(grpc::StatusCode::CANCELLED, "the call was cancelled"));
  }

  void OnDone() override {
    log_.call_done();
    // Timer tasks may still hold the call; it is freed when the last of them has run or been dropped.
    self_.reset();
  }

  // Hands a new call to gRPC; the call owns itself until OnDone.
  template <class Call, class... Args>
  static Call* launch(Args&&... args) {
    auto* call = new Call(std::forward<Args>(args)...);
    std::shared_ptr<echo_call> self(call);
    self->self_ = self;
    std::lock_guard lock(self->mutex_);
    self->start();
    return call;
  }

 protected:
  echo_call(grpc::CallbackServerContext* context, call_log& log, timer_queue& timers)
      : context_(context), log_(log), timers_(timers) {
    auto deadline = context->deadline();
    log_.call_started(deadline == std::chrono::system_clock::time_point::max() ? std::nullopt : std::optional(deadline),
                      context->peer());
    for (const auto& [key, value] : context->client_metadata()) {
      if (starts_with(key, "x-echo-"))
        context->AddInitialMetadata(to_string(key), to_string(value));
      else if (starts_with(key, "x-trailer-"))
        context->AddTrailingMetadata(to_string(key), to_string(value));
    }
  }

  virtual void start() = 0;

  // Runs the task with the call's mutex held after the delay, unless the call has finished by then.
  void after(milliseconds delay, std::function<void()> task) {
    timers_.after(delay, [self = self_, task = std::move(task)] {
      std::lock_guard lock(self->mutex_);
      if (!self->finish_requested_)
        task();
    });
  }

  void reply_after(std::uint32_t delay_ms, std::function<void()> reply) {
    if (delay_ms == 0)
      reply();
    else
      after(milliseconds(delay_ms), std::move(reply));
  }

  void schedule_server_cancel(const EchoRequest& request) {
    if (!request.has_server_cancel())
      return;
    after(milliseconds(request.server_cancel().after_ms()), [this] {
      server_cancelled_ = true;
      context_->TryCancel();
    });
  }

  void fill(EchoResponse& response, const EchoRequest& request, std::string payload) const {
    if (request.response_bytes() > 0)
      payload = pattern_payload(request.response_bytes());
    response.set_payload(std::move(payload));
    response.clear_request_metadata();
    for (const auto& [key, value] : context_->client_metadata()) {
      auto* entry = response.add_request_metadata();
      entry->set_key(to_string(key));
      entry->set_value(to_string(value));
    }
    auto deadline = context_->deadline();
    if (deadline == std::chrono::system_clock::time_point::max()) {
      response.set_deadline_remaining_ms(-1);
    } else {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::system_clock::now());
      response.set_deadline_remaining_ms(std::max<std::int64_t>(0, left.count()));
    }
  }

  // Finishes once; a write still in flight must complete first, so the finish waits for it.
  void finish(const grpc::Status& status) {
    if (finish_requested_)
      return;
    finish_requested_ = true;
    if (write_in_flight_)
      pending_status_ = status;
    else
      this->Finish(status);
  }

  void write(EchoResponse& response) {
    write_in_flight_ = true;
    this->StartWrite(&response);
  }

  // Call from OnWriteDone; true when the stream may go on.
  bool write_completed(bool ok) {
    write_in_flight_ = false;
    if (finish_requested_) {
      this->Finish(pending_status_);
      return false;
    }
    if (!ok) {
      finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client stopped reading"));
      return false;
    }
    return true;
  }

  grpc::CallbackServerContext* context_;
  std::mutex mutex_;

 private:
  call_log& log_;
  timer_queue& timers_;
  std::shared_ptr<echo_call> self_;
  bool finish_requested_ = false;
  bool write_in_flight_ = false;
  bool server_cancelled_ = false;
  grpc::Status pending_status_;
};

namespace {

class unary_call final : public echo_call<grpc::ServerUnaryReactor> {
 public:
  unary_call(grpc::CallbackServerContext* context, call_log& log, timer_queue& timers, const EchoRequest* request,
             EchoResponse* response)
      : echo_call(context, log, timers), request_(request), response_(response) {}

 private:
  void start() override {
    schedule_server_cancel(*request_);
    reply_after(request_->delay_ms(), [this] {
      fill(*response_, *request_, request_->payload());
      finish(status_for(*request_));
    });
  }

  const EchoRequest* request_;
  EchoResponse* response_;
};

class client_stream_call final : public echo_call<grpc::ServerReadReactor<EchoRequest>> {
 public:
  client_stream_call(grpc::CallbackServerContext* context, call_log& log, timer_queue& timers, EchoResponse* response)
      : echo_call(context, log, timers), response_(response) {}

  void OnReadDone(bool ok) override {
    std::lock_guard lock(mutex_);
    if (!ok) {
      reply_after(instructions_.delay_ms(), [this] {
        fill(*response_, instructions_, std::move(payload_));
        response_->set_requests_received(received_);
        finish(status_for(instructions_));
      });
      return;
    }
    if (received_++ == 0) {
      instructions_ = request_;
      instructions_.clear_payload();
      schedule_server_cancel(instructions_);
    }
    payload_ += request_.payload();
    StartRead(&request_);
  }

 private:
  void start() override { StartRead(&request_); }

  EchoResponse* response_;
  EchoRequest request_;
  EchoRequest instructions_;  // the first request, which says how to reply
  std::string payload_;
  std::uint32_t received_ = 0;
};

class server_stream_call final : public echo_call<grpc::ServerWriteReactor<EchoResponse>> {
 public:
  server_stream_call(grpc::CallbackServerContext* context, call_log& log, timer_queue& timers,
                     const EchoRequest* request)
      : echo_call(context, log, timers), request_(request) {}

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mutex_);
    if (write_completed(ok))
      reply_after(request_->stream_interval_ms(), [this] { write_next(); });
  }

 private:
  void start() override {
    schedule_server_cancel(*request_);
    reply_after(request_->delay_ms(), [this] { write_next(); });
  }

  void write_next() {
    if (sent_ == std::max<std::uint32_t>(1, request_->stream_count())) {
      finish(status_for(*request_));
      return;
    }
    fill(response_, *request_, request_->payload());
    response_.set_sequence(sent_++);
    write(response_);
  }

  const EchoRequest* request_;
  EchoResponse response_;
  std::uint32_t sent_ = 0;
};

// Reads one request, answers it, then reads the next: each request's delay and error apply to
// its own answer.
class bidi_call final : public echo_call<grpc::ServerBidiReactor<EchoRequest, EchoResponse>> {
 public:
  bidi_call(grpc::CallbackServerContext* context, call_log& log, timer_queue& timers)
      : echo_call(context, log, timers) {}

  void OnReadDone(bool ok) override {
    std::lock_guard lock(mutex_);
    if (!ok) {
      finish(grpc::Status::OK);
      return;
    }
    if (sequence_ == 0)
      schedule_server_cancel(request_);
    reply_after(request_.delay_ms(), [this] {
      if (request_.has_error()) {
        finish(status_for(request_));
        return;
      }
      fill(response_, request_, request_.payload());
      response_.set_sequence(sequence_++);
      write(response_);
    });
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mutex_);
    if (write_completed(ok))
      StartRead(&request_);
  }

 private:
  void start() override { StartRead(&request_); }

  EchoRequest request_;
  EchoResponse response_;
  std::uint32_t sequence_ = 0;
};

}  // namespace

class echo_service final : public v1::EchoService::CallbackService {
 public:
  echo_service(call_log& log, timer_queue& timers) : log_(log), timers_(timers) {}

  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* context, const EchoRequest* request,
                                  EchoResponse* response) override {
    return echo_call<grpc::ServerUnaryReactor>::launch<unary_call>(context, log_, timers_, request, response);
  }

  grpc::ServerReadReactor<EchoRequest>* ClientStream(grpc::CallbackServerContext* context,
                                                     EchoResponse* response) override {
    return echo_call<grpc::ServerReadReactor<EchoRequest>>::launch<client_stream_call>(context, log_, timers_,
                                                                                       response);
  }

  grpc::ServerWriteReactor<EchoResponse>* ServerStream(grpc::CallbackServerContext* context,
                                                       const EchoRequest* request) override {
    return echo_call<grpc::ServerWriteReactor<EchoResponse>>::launch<server_stream_call>(context, log_, timers_,
                                                                                         request);
  }

  grpc::ServerBidiReactor<EchoRequest, EchoResponse>* Bidi(grpc::CallbackServerContext* context) override {
    return echo_call<grpc::ServerBidiReactor<EchoRequest, EchoResponse>>::launch<bidi_call>(context, log_, timers_);
  }

 private:
  call_log& log_;
  timer_queue& timers_;
};

namespace {

std::shared_ptr<grpc::ServerCredentials> server_credentials(const std::optional<server_tls_files>& tls) {
  if (!tls)
    return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({read_file(tls->private_key), read_file(tls->certificate_chain)});
  if (tls->client_ca.empty()) {
    options.client_certificate_request = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  } else {
    options.pem_root_certs = read_file(tls->client_ca);
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

}  // namespace

echo_server::echo_server(echo_server_options options)
    : options_(std::move(options)),
      timers_(std::make_unique<timer_queue>()),
      service_(std::make_unique<echo_service>(log_, *timers_)) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.host + ":" + std::to_string(options_.port), server_credentials(options_.tls),
                           &port_);
  builder.SetMaxReceiveMessageSize(test_max_message_bytes);
  builder.SetMaxSendMessageSize(test_max_message_bytes);
  if (options_.max_connection_age) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, static_cast<int>(options_.max_connection_age->count()));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               static_cast<int>(options_.max_connection_age_grace.count()));
  }
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0)
    throw std::runtime_error("echo server could not listen on " + options_.host + ":" + std::to_string(options_.port));
}

echo_server::~echo_server() {
  // Calls still running after the grace are cancelled, and each reactor finishes on OnCancel.
  server_->Shutdown(std::chrono::system_clock::now() + options_.shutdown_grace);
  server_->Wait();
  server_.reset();
  timers_.reset();
}

std::string echo_server::address() const { return options_.host + ":" + std::to_string(port_); }

}  // namespace s2s::testing
