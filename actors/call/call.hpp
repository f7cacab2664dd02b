// The call actor: owns one proxied gRPC call, from the caller's side to the upstream and back.
//
// The actor sees every message and every end of the call's two halves (ports.hpp), runs
// the call's filters and decides how the call ends, so those rules live in call.cpp and can be
// tested without sockets. Its upstream is asked for a lease (upstream_interface.hpp) as the call
// starts.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/status.h>
#include <caf/fwd.hpp>

#include "actors/call/ports.hpp"
#include "actors/upstream_interface.hpp"

namespace s2s::actors {

// One call's filtering of its messages (translation, overrides): made when the call starts,
// owned by the call actor, so it may keep what the call's earlier messages told it.
class message_filter {
 public:
  virtual ~message_filter() = default;
  // May rewrite the message in place; a non-OK status ends the call with it.
  virtual grpc::Status on_request(grpc::ByteBuffer& message) { return grpc::Status::OK; }
  virtual grpc::Status on_response(grpc::ByteBuffer& message) { return grpc::Status::OK; }
  // Before the upstream call opens: sets `changed` to the metadata the upstream gets instead of `headers`
  // when it differs; a non-OK status ends the call with it.
  virtual grpc::Status on_request_metadata(const metadata_list& headers, std::optional<metadata_list>& changed) {
    return grpc::Status::OK;
  }
  // May rewrite the status the upstream ended the call with before the caller gets it.
  virtual void on_status(grpc::Status& status) {}
};

// What a listener runs on every call it accepts: access control, and the message filter of
// the call. Shared by all calls; must be safe to use from several threads.
class call_filter {
 public:
  struct decision {
    grpc::Status refusal;                      // non-OK: the call ends with it before it reaches the upstream
    std::unique_ptr<message_filter> messages;  // null: messages pass untouched
  };
  virtual ~call_filter() = default;
  virtual decision start(const call_info& info) = 0;
};

// Runs filters in order: the first refusal wins; messages pass through each filter in turn
// (requests first to last, responses last to first).
std::shared_ptr<call_filter> chain_filters(std::vector<std::shared_ptr<call_filter>> filters);

// Where one of a call's messages went, as observers count them: the proxy's server side takes
// from and gives to the caller, its client side gives to and takes from the upstream.
enum class call_hop { from_caller, to_upstream, from_upstream, to_caller };

// Told what happens to one call (metrics). Owned by the call actor and destroyed when it ends.
class call_probe {
 public:
  virtual ~call_probe() = default;
  virtual void message(call_hop hop) = 0;
  // Once, when the caller is given the call's status.
  virtual void ended(const grpc::Status& status) = 0;
  // Once, as the call actor ends: the messages it handled, and whether it failed.
  virtual void actor_ended(std::uint64_t messages_processed, bool failed) {}
};

// Watches the calls of one listener; shared by its calls, so safe to use from several threads.
class call_observer {
 public:
  virtual ~call_observer() = default;
  virtual std::unique_ptr<call_probe> call_started(const call_info& info) = 0;
};

struct call_setup {
  std::shared_ptr<downstream_port> downstream;
  upstream_actor upstream;
  std::shared_ptr<call_filter> filter;      // may be null
  std::shared_ptr<call_observer> observer;  // may be null
};

// Spawns the actor for one call; it quits once both halves are done.
call_actor spawn_call(caf::actor_system& system, call_setup setup);
// The same, but the actor's start (and the lease it asks for) runs on this thread: for the
// grpc++ thread that accepted the call (see runtime/inline_run.hpp).
call_actor spawn_call_here(caf::actor_system& system, call_setup setup);

}  // namespace s2s::actors
