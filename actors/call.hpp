// The call actor: owns one proxied gRPC call, from the caller's side to the upstream and back.
//
// A call has two halves. The downstream half is the server side, where the caller is; the
// upstream half is the client side, toward the target. Each half (an HTTP/2 stream, see
// h2_halves.hpp) turns its stream's events into the messages below and carries out the few operations the actor asks of
// it; the halves pace each other's reads (read_gate) so bytes never wait for the actor between two operations. The
// actor sees every message and every end, runs the call's filters and decides how the call
// ends, so those rules live in call.cpp and can be tested without sockets.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/status.h>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "rpc/header_rules.hpp"

namespace s2s::actors {

using rpc::metadata_list;

// What is known about a call when it arrives.
struct call_info {
  std::string method;      // "/package.Service/Method"
  metadata_list metadata;  // forwardable request metadata
  std::chrono::system_clock::time_point deadline = std::chrono::system_clock::time_point::max();
  std::string peer;
};

// Messages from the downstream half.
struct downstream_read {
  grpc::ByteBuffer message;
};
struct downstream_read_end {};      // the caller half-closed, or the call broke
struct downstream_write_failed {};  // the caller is gone
struct downstream_cancelled {};     // the caller cancelled, or its deadline passed

// Messages from the upstream half.
struct upstream_metadata {
  bool ok = false;
  metadata_list headers;
};
struct upstream_read {
  grpc::ByteBuffer message;
};
struct upstream_read_end {};
struct upstream_write_failed {};  // the upstream call stopped taking messages
struct upstream_done {
  grpc::Status status;
  metadata_list trailers;
};
// The upstream's connection is going away gracefully (HTTP/2 GOAWAY): the call goes on there, and
// its caller is told the same of its own connection, so it opens a new one as it would directly.
struct upstream_going_away {};

// The proxy is stopping. A call whose caller is still sending (a stream: replication streams
// never stop on their own) ends at once with UNAVAILABLE, so the caller calls again, elsewhere or
// once the proxy is back; a call whose requests are all in (a unary call) runs to its end.
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;

class upstream_target;

// The upstream actor's answer to a lease request: where to send the call, or why not.
struct upstream_lease {
  std::shared_ptr<upstream_target> target;
  std::string unavailable_reason;
};

using call_actor =
    caf::typed_actor<caf::reacts_to<downstream_read>, caf::reacts_to<downstream_read_end>,
                     caf::reacts_to<downstream_write_failed>, caf::reacts_to<downstream_cancelled>,
                     caf::reacts_to<upstream_metadata>, caf::reacts_to<upstream_read>,
                     caf::reacts_to<upstream_read_end>, caf::reacts_to<upstream_write_failed>,
                     caf::reacts_to<upstream_done>, caf::reacts_to<upstream_going_away>, caf::reacts_to<shutdown_atom>>;

// A half whose reads can be granted: the actor grants the first ones, the other half the rest.
class read_gate {
 public:
  virtual ~read_gate() = default;
  // Allows `count` more messages to be read.
  virtual void grant_reads(std::size_t count) = 0;
};

// What the call actor asks of the caller's side. The half reads on its own while it has read
// grants left and writes the messages it is given in order, so bytes never wait for the actor
// between two grpc++ operations. Every message read goes to the actor (downstream_read); each
// message written gives the other half a read back, within a byte budget, so the two halves
// pace each other without a message to the actor per write.
class downstream_port : public read_gate {
 public:
  virtual const call_info& info() const = 0;
  // Events go to `owner` from now on; called once, before any other operation.
  virtual void bind(call_actor owner) = 0;
  // Where this half's completed writes return read grants.
  virtual void return_grants_to(std::weak_ptr<read_gate> peer) = 0;
  // Queues one message; a failed write is reported as downstream_write_failed.
  virtual void write(grpc::ByteBuffer message) = 0;
  virtual void send_metadata(const metadata_list& headers) = 0;
  // Ends the call for the caller after the messages still queued. Idempotent: only the first
  // status is sent.
  virtual void finish(const grpc::Status& status, const metadata_list& trailers) = 0;
  // Tells the caller's connection to go away gracefully (its calls in flight go on).
  virtual void go_away_gracefully() {}
};

// What the call actor asks of the upstream side, with the same reads and write queue. Reading
// starts once the upstream's headers arrived (upstream_metadata comes first). The upstream
// call stays open until release(); after it, upstream_done follows.
class upstream_port : public read_gate {
 public:
  virtual void return_grants_to(std::weak_ptr<read_gate> peer) = 0;
  virtual void write(grpc::ByteBuffer message) = 0;
  // Half-closes once every queued message is written.
  virtual void writes_done() = 0;
  virtual void cancel() = 0;
  // Promises that the actor starts nothing more. Idempotent.
  virtual void release() = 0;
};

// Something that can open upstream calls: a channel over TCP, or one over a mux stream.
class upstream_target {
 public:
  virtual ~upstream_target() = default;
  // Starts the upstream call; its events go to `owner`.
  virtual std::shared_ptr<upstream_port> open(const call_info& info, call_actor owner) = 0;
};

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

// The upstream actor's interface is declared here, beside the call's, because each names the
// other: a call asks its upstream for a lease, and a lease opens calls.
using lease_atom = caf::atom_constant<caf::atom("lease")>;
using upstream_actor = caf::typed_actor<caf::replies_to<lease_atom>::with<upstream_lease>>;

struct call_setup {
  std::shared_ptr<downstream_port> downstream;
  upstream_actor upstream;
  std::shared_ptr<call_filter> filter;      // may be null
  std::shared_ptr<call_observer> observer;  // may be null
};

// Spawns the actor for one call; it quits once both halves are done.
call_actor spawn_call(caf::actor_system& system, call_setup setup);
// The same, but the actor's start (and the lease it asks for) runs on this thread: for the
// grpc++ thread that accepted the call (see inline_run.hpp).
call_actor spawn_call_here(caf::actor_system& system, call_setup setup);

}  // namespace s2s::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::downstream_read)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::downstream_read_end)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::downstream_write_failed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::downstream_cancelled)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::upstream_metadata)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::upstream_read)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::upstream_read_end)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::upstream_write_failed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::upstream_done)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::upstream_going_away)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::upstream_lease)
