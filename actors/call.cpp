// The call actor: owns one proxied gRPC call, from the caller's side to the upstream and back.
#include "actors/call.hpp"

#include <deque>
#include <exception>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace s2s::actors {
namespace {

// Messages read ahead in each direction before reading pauses. Two keeps both hops busy
// (one message being written while the next is read) without buffering a stream.
constexpr std::size_t read_ahead = 2;

struct call_state {
  static inline const char* name = "call";

  call_setup setup;
  std::shared_ptr<upstream_port> upstream;
  std::deque<grpc::ByteBuffer> to_upstream;
  std::deque<grpc::ByteBuffer> to_downstream;

  bool downstream_reading = false;
  bool downstream_read_ended = false;
  bool downstream_writing = false;
  bool upstream_metadata_seen = false;
  bool upstream_reading = false;
  bool upstream_read_ended = false;
  bool upstream_writing = false;
  bool upstream_writes_closed = false;
  bool upstream_released = false;
  std::optional<upstream_done> upstream_result;
  // A status the proxy decided itself (refused, unavailable, cancelled); wins over upstream's.
  std::optional<grpc::Status> proxy_status;
  bool finished = false;

  downstream_port& downstream() { return *setup.downstream; }

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
    if (setup.downstream && !finished)
      setup.downstream->finish(
          grpc::Status(grpc::StatusCode::INTERNAL, "s2s-proxy: the call ended unexpectedly"), {});
  }
};

using call_pointer = call_actor::stateful_pointer<call_state>;

void finish_if_done(call_pointer self) {
  auto& st = self->state;
  if (!st.finished) {
    bool upstream_settled = !st.upstream || st.upstream_result.has_value();
    if (st.proxy_status && upstream_settled) {
      st.downstream().finish(*st.proxy_status, {});
      st.finished = true;
    } else if (st.upstream_result && st.to_downstream.empty() && !st.downstream_writing) {
      st.downstream().finish(st.upstream_result->status, st.upstream_result->trailers);
      st.finished = true;
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
  st.to_upstream.clear();
  st.to_downstream.clear();
  if (st.upstream) {
    st.upstream->cancel();
    st.release_upstream();
  }
  finish_if_done(self);
}

bool stopping(call_pointer self) {
  return self->state.proxy_status.has_value() || self->state.finished;
}

void pump(call_pointer self) {
  auto& st = self->state;
  if (stopping(self))
    return;
  // Caller -> upstream.
  if (st.upstream && !st.upstream_writing && !st.upstream_writes_closed) {
    if (!st.to_upstream.empty()) {
      st.upstream_writing = true;
      st.upstream->write(std::move(st.to_upstream.front()));
      st.to_upstream.pop_front();
    } else if (st.downstream_read_ended) {
      st.upstream_writes_closed = true;
      st.upstream->writes_done();
    }
  }
  if (!st.downstream_reading && !st.downstream_read_ended && st.to_upstream.size() < read_ahead) {
    st.downstream_reading = true;
    st.downstream().read();
  }
  // Upstream -> caller. Reading starts only after the upstream's headers were passed on,
  // so the caller sees them before any message.
  if (!st.downstream_writing && !st.to_downstream.empty()) {
    st.downstream_writing = true;
    st.downstream().write(std::move(st.to_downstream.front()));
    st.to_downstream.pop_front();
  }
  if (st.upstream && st.upstream_metadata_seen && !st.upstream_reading && !st.upstream_read_ended &&
      st.to_downstream.size() < read_ahead) {
    st.upstream_reading = true;
    st.upstream->read();
  }
  // Nothing more will be asked of the upstream: let it deliver its status.
  if (st.upstream_read_ended && st.upstream_writes_closed)
    st.release_upstream();
  finish_if_done(self);
}

void on_lease(call_pointer self, upstream_lease& lease) {
  auto& st = self->state;
  if (stopping(self))
    return finish_if_done(self);
  if (!lease.target)
    return fail_call(self, grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                        "s2s-proxy: " + lease.unavailable_reason));
  st.upstream = lease.target->open(st.downstream().info(), self);
  pump(self);
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
    if (!st.finished) {
      st.downstream().finish(
          grpc::Status(grpc::StatusCode::INTERNAL, "s2s-proxy: the call failed: " + what), {});
      st.finished = true;
    }
    return caf::make_error(caf::sec::runtime_error, std::move(what));
  });
  st.downstream().bind(self);
  auto verdict = st.setup.filter ? st.setup.filter->on_call(st.downstream().info())
                                 : grpc::Status::OK;
  if (!verdict.ok())
    fail_call(self, verdict);  // ends the call at once; the handlers below never run
  else
    self->request(st.setup.upstream, caf::infinite, lease_atom::value)
      .then([self](upstream_lease& lease) { on_lease(self, lease); },
            [self](caf::error& err) {
              fail_call(self, grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                           "s2s-proxy: upstream unavailable: " +
                                               self->system().render(err)));
            });
  pump(self);
  return {
      [self](downstream_read& msg) {
        auto& st = self->state;
        st.downstream_reading = false;
        if (stopping(self))
          return;
        if (st.setup.filter) {
          auto verdict = st.setup.filter->on_request(st.downstream().info(), msg.message);
          if (!verdict.ok())
            return fail_call(self, verdict);
        }
        st.to_upstream.push_back(std::move(msg.message));
        pump(self);
      },
      [self](downstream_read_end) {
        auto& st = self->state;
        st.downstream_reading = false;
        st.downstream_read_ended = true;
        pump(self);
      },
      [self](downstream_write_done msg) {
        self->state.downstream_writing = false;
        if (!msg.ok)
          return fail_call(self, grpc::Status(grpc::StatusCode::CANCELLED,
                                              "s2s-proxy: the caller went away"));
        pump(self);
      },
      [self](downstream_cancelled) {
        fail_call(self, grpc::Status(grpc::StatusCode::CANCELLED,
                                     "s2s-proxy: the call was cancelled by the caller"));
      },
      [self](upstream_metadata& msg) {
        auto& st = self->state;
        st.upstream_metadata_seen = true;
        if (stopping(self))
          return;
        if (msg.ok)
          st.downstream().send_metadata(msg.headers);
        pump(self);
      },
      [self](upstream_read& msg) {
        auto& st = self->state;
        st.upstream_reading = false;
        if (stopping(self))
          return;
        if (st.setup.filter) {
          auto verdict = st.setup.filter->on_response(st.downstream().info(), msg.message);
          if (!verdict.ok())
            return fail_call(self, verdict);
        }
        st.to_downstream.push_back(std::move(msg.message));
        pump(self);
      },
      [self](upstream_read_end) {
        // The upstream's response stream ends only with its status: the call is over
        // upstream, so whatever the caller still sends has nowhere to go.
        auto& st = self->state;
        st.upstream_reading = false;
        st.upstream_read_ended = true;
        st.to_upstream.clear();
        if (!st.upstream_writing)
          st.upstream_writes_closed = true;
        pump(self);
      },
      [self](upstream_write_done msg) {
        auto& st = self->state;
        st.upstream_writing = false;
        if (!msg.ok || st.upstream_read_ended) {
          // The upstream stopped taking messages (it has answered or broken); what the caller
          // still sends has nowhere to go. Its status arrives with upstream_done.
          st.upstream_writes_closed = true;
          st.to_upstream.clear();
        }
        pump(self);
      },
      [self](upstream_done& msg) {
        auto& st = self->state;
        st.upstream_result = std::move(msg);
        st.upstream_released = true;  // the upstream half is gone; nothing more to release
        st.upstream_read_ended = true;
        st.upstream_writes_closed = true;
        st.to_upstream.clear();
        pump(self);
        finish_if_done(self);
      },
  };
}

}  // namespace

call_actor spawn_call(caf::actor_system& system, call_setup setup) {
  return system.spawn(call_behavior, std::move(setup));
}

}  // namespace s2s::actors
