// The call actor: owns one proxied gRPC call, from the caller's side to the upstream and back.
#include "actors/call/call.hpp"
#include "actors/runtime/census.hpp"

#include <deque>
#include <exception>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/runtime/inline_run.hpp"

namespace s2s::actors {
namespace {

// Messages each half may read before the other side has written any: enough to keep both hops
// busy. The halves then pace each other (see read_gate); the byte budget lives there.
constexpr std::size_t read_ahead = 32;

struct call_state {
  static inline const char* name = "call";
  census::mark counted{census::kind::call};
  // Its handlers only move buffers and start operations on the halves (see runtime/inline_run.hpp).
  static constexpr bool runs_inline = true;

  call_setup setup;
  std::unique_ptr<message_filter> messages;  // this call's filter, or null
  std::shared_ptr<upstream_port> upstream;
  // The call as the upstream gets it, when the filter changed its metadata; else the caller's.
  std::optional<call_info> upstream_info;
  // Read from the caller before the upstream call was open.
  std::deque<grpc::ByteBuffer> waiting_for_upstream;

  bool downstream_read_ended = false;
  bool upstream_read_ended = false;
  bool upstream_writes_closed = false;
  bool upstream_released = false;
  std::optional<upstream_done> upstream_result;
  // A status the proxy decided itself (refused, unavailable, cancelled); wins over upstream's.
  std::optional<grpc::Status> proxy_status;
  bool finished = false;

  std::unique_ptr<call_probe> probe;  // null without an observer
  std::uint64_t processed = 0;        // messages this actor handled
  bool failed = false;

  downstream_port& downstream() { return *setup.downstream; }

  // Gives the caller its status; only the first call does anything.
  void finish(const grpc::Status& status, const metadata_list& trailers) {
    if (finished)
      return;
    finished = true;
    setup.downstream->finish(status, trailers);
    if (probe)
      probe->ended(status);
  }

  void note(call_hop hop) {
    if (probe)
      probe->message(hop);
  }

  void release_upstream() {
    if (upstream && !upstream_released) {
      upstream_released = true;
      upstream->release();
    }
  }

  // The actor's last line of defence: whatever way it ends, neither half is left hanging.
  ~call_state() {
    if (upstream && !upstream_released) {
      upstream->cancel();
      upstream->release();
    }
    if (setup.downstream)
      finish(grpc::Status(grpc::StatusCode::INTERNAL, "s2s-proxy: the call ended unexpectedly"), {});
    if (probe)
      probe->actor_ended(processed, failed);
  }
};

using call_pointer = stateful_pointer<call_actor, call_state>;

void finish_if_done(call_pointer self) {
  auto& st = self->state;
  if (!st.finished) {
    bool upstream_settled = !st.upstream || st.upstream_result.has_value();
    if (st.proxy_status && upstream_settled) {
      st.finish(*st.proxy_status, {});
    } else if (st.upstream_result) {
      // The caller's half sends the status after the messages still queued there.
      st.finish(st.upstream_result->status, st.upstream_result->trailers);
    }
  }
  if (st.finished && (!st.upstream || st.upstream_result))
    self->quit();
}

// Ends the call with a status of the proxy's own; the upstream call, if any, is cancelled.
void fail_call(call_pointer self, grpc::Status status) {
  auto& st = self->state;
  if (st.proxy_status || st.finished)
    return;
  st.proxy_status = std::move(status);
  st.waiting_for_upstream.clear();
  if (st.upstream) {
    st.upstream->cancel();
    st.release_upstream();
  }
  finish_if_done(self);
}

bool stopping(call_pointer self) { return self->state.proxy_status.has_value() || self->state.finished; }

// Half-closes the upstream once the caller has, and lets the upstream deliver its status once
// nothing more will be asked of it.
void settle_upstream(call_pointer self) {
  auto& st = self->state;
  if (!st.upstream || stopping(self))
    return;
  if (st.downstream_read_ended && !st.upstream_writes_closed) {
    st.upstream_writes_closed = true;
    st.upstream->writes_done();
  }
  if (st.upstream_read_ended && st.upstream_writes_closed)
    st.release_upstream();
}

void send_upstream(call_pointer self, grpc::ByteBuffer message) {
  auto& st = self->state;
  if (st.upstream_writes_closed)
    return;  // the upstream call is over; nothing can take this message
  st.upstream->write(std::move(message));
  st.note(call_hop::to_upstream);
}

void on_lease(call_pointer self, upstream_lease& lease) {
  auto& st = self->state;
  if (stopping(self))
    return finish_if_done(self);
  if (!lease.target)
    return fail_call(self, grpc::Status(grpc::StatusCode::UNAVAILABLE, "s2s-proxy: " + lease.unavailable_reason));
  st.upstream = lease.target->open(st.upstream_info ? *st.upstream_info : st.downstream().info(), self);
  st.upstream->return_grants_to(st.setup.downstream);
  st.downstream().return_grants_to(st.upstream);
  st.upstream->grant_reads(read_ahead);
  while (!st.waiting_for_upstream.empty()) {
    send_upstream(self, std::move(st.waiting_for_upstream.front()));
    st.waiting_for_upstream.pop_front();
  }
  settle_upstream(self);
}

call_actor::behavior_type call_behavior(call_pointer self, call_setup setup) {
  auto& st = self->state;
  st.setup = std::move(setup);
  self->set_exception_handler([self](std::exception_ptr& failure) -> caf::error {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    auto& st = self->state;
    if (st.upstream && !st.upstream_released) {
      st.upstream->cancel();
      st.release_upstream();
    }
    st.failed = true;
    st.finish(grpc::Status(grpc::StatusCode::INTERNAL, "s2s-proxy: the call failed: " + what), {});
    return caf::make_error(caf::sec::runtime_error, std::move(what));
  });
  st.downstream().bind(self);
  if (st.setup.observer)
    st.probe = st.setup.observer->call_started(st.downstream().info());
  call_filter::decision decision;
  if (st.setup.filter)
    decision = st.setup.filter->start(st.downstream().info());
  st.messages = std::move(decision.messages);
  if (decision.refusal.ok() && st.messages) {
    std::optional<metadata_list> changed;
    decision.refusal = st.messages->on_request_metadata(st.downstream().info().metadata, changed);
    if (changed) {
      st.upstream_info = st.downstream().info();
      st.upstream_info->metadata = std::move(*changed);
    }
  }
  if (!decision.refusal.ok()) {
    fail_call(self, decision.refusal);  // ends the call at once; the handlers below never run
  } else {
    st.downstream().grant_reads(read_ahead);
    self->request(st.setup.upstream, caf::infinite, lease_atom::value)
        .then(
            [self](upstream_lease& lease) {
              ++self->state.processed;
              on_lease(self, lease);
            },
            [self](caf::error& err) {
              fail_call(self, grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                           "s2s-proxy: upstream unavailable: " + self->system().render(err)));
            });
  }
  return {
      [self](downstream_read& msg) {
        ++self->state.processed;
        auto& st = self->state;
        st.note(call_hop::from_caller);
        if (stopping(self))
          return;
        if (st.messages) {
          auto verdict = st.messages->on_request(msg.message);
          if (!verdict.ok())
            return fail_call(self, verdict);
        }
        if (st.upstream)
          send_upstream(self, std::move(msg.message));
        else
          st.waiting_for_upstream.push_back(std::move(msg.message));
      },
      [self](downstream_read_end) {
        ++self->state.processed;
        self->state.downstream_read_ended = true;
        settle_upstream(self);
      },
      [self](downstream_write_failed) {
        ++self->state.processed;
        fail_call(self, grpc::Status(grpc::StatusCode::CANCELLED, "s2s-proxy: the caller went away"));
      },
      [self](downstream_cancelled) {
        ++self->state.processed;
        fail_call(self, grpc::Status(grpc::StatusCode::CANCELLED, "s2s-proxy: the call was cancelled by the caller"));
      },
      [self](upstream_metadata& msg) {
        ++self->state.processed;
        if (!stopping(self) && msg.ok)
          self->state.downstream().send_metadata(std::move(msg.headers));
      },
      [self](upstream_read& msg) {
        ++self->state.processed;
        auto& st = self->state;
        st.note(call_hop::from_upstream);
        if (stopping(self))
          return;
        if (st.messages) {
          auto verdict = st.messages->on_response(msg.message);
          if (!verdict.ok())
            return fail_call(self, verdict);
        }
        st.downstream().write(std::move(msg.message));
        st.note(call_hop::to_caller);
      },
      [self](upstream_read_end) {
        ++self->state.processed;
        // The upstream's response stream ends only with its status: the call is over
        // upstream, so whatever the caller still sends has nowhere to go.
        auto& st = self->state;
        st.upstream_read_ended = true;
        st.upstream_writes_closed = true;
        settle_upstream(self);
      },
      [self](upstream_write_failed) {
        ++self->state.processed;
        // The upstream stopped taking messages (it has answered or broken); its status
        // arrives with upstream_done.
        self->state.upstream_writes_closed = true;
        settle_upstream(self);
      },
      [self](upstream_done& msg) {
        ++self->state.processed;
        auto& st = self->state;
        if (st.messages && !msg.status.ok())
          st.messages->on_status(msg.status);
        st.upstream_result = std::move(msg);
        st.upstream_released = true;  // the upstream half is gone; nothing more to release
        st.upstream_read_ended = true;
        st.upstream_writes_closed = true;
        finish_if_done(self);
      },
      [self](upstream_going_away) {
        ++self->state.processed;
        if (!self->state.finished)
          self->state.downstream().go_away_gracefully();
      },
      [self](shutdown_atom) {
        ++self->state.processed;
        if (!self->state.downstream_read_ended)
          fail_call(self, grpc::Status(grpc::StatusCode::UNAVAILABLE, "s2s-proxy is shutting down; call again"));
      },
  };
}

// The filters of a chain, each with its own per-call message filter.
class chained_messages final : public message_filter {
 public:
  explicit chained_messages(std::vector<std::unique_ptr<message_filter>> parts) : parts_(std::move(parts)) {}
  grpc::Status on_request(grpc::ByteBuffer& message) override {
    for (auto& part : parts_)
      if (auto verdict = part->on_request(message); !verdict.ok())
        return verdict;
    return grpc::Status::OK;
  }
  grpc::Status on_response(grpc::ByteBuffer& message) override {
    for (auto part = parts_.rbegin(); part != parts_.rend(); ++part)
      if (auto verdict = (*part)->on_response(message); !verdict.ok())
        return verdict;
    return grpc::Status::OK;
  }
  grpc::Status on_request_metadata(const metadata_list& headers, std::optional<metadata_list>& changed) override {
    for (auto& part : parts_) {
      std::optional<metadata_list> step;
      if (auto verdict = part->on_request_metadata(changed ? *changed : headers, step); !verdict.ok())
        return verdict;
      if (step)
        changed = std::move(step);
    }
    return grpc::Status::OK;
  }
  void on_status(grpc::Status& status) override {
    for (auto part = parts_.rbegin(); part != parts_.rend(); ++part)
      (*part)->on_status(status);
  }

 private:
  std::vector<std::unique_ptr<message_filter>> parts_;
};

class filter_chain final : public call_filter {
 public:
  explicit filter_chain(std::vector<std::shared_ptr<call_filter>> filters) : filters_(std::move(filters)) {}
  decision start(const call_info& info) override {
    std::vector<std::unique_ptr<message_filter>> parts;
    for (auto& filter : filters_) {
      auto step = filter->start(info);
      if (!step.refusal.ok())
        return {step.refusal, nullptr};
      if (step.messages)
        parts.push_back(std::move(step.messages));
    }
    if (parts.empty())
      return {};
    if (parts.size() == 1)
      return {grpc::Status::OK, std::move(parts.front())};
    return {grpc::Status::OK, std::make_unique<chained_messages>(std::move(parts))};
  }

 private:
  std::vector<std::shared_ptr<call_filter>> filters_;
};

}  // namespace

std::shared_ptr<call_filter> chain_filters(std::vector<std::shared_ptr<call_filter>> filters) {
  std::erase(filters, nullptr);
  if (filters.empty())
    return nullptr;
  if (filters.size() == 1)
    return filters.front();
  return std::make_shared<filter_chain>(std::move(filters));
}

call_actor spawn_call(caf::actor_system& system, call_setup setup) {
  return system.spawn(call_behavior, std::move(setup));
}

call_actor spawn_call_here(caf::actor_system& system, call_setup setup) {
  return spawn_here(system, call_behavior, std::move(setup));
}

}  // namespace s2s::actors
