// The call actor's ports: what a call is told when it arrives, the messages its two halves send
// it, its typed interface, and what it asks of each half.
//
// A call has two halves. The downstream half is the server side, where the caller is; the
// upstream half is the client side, toward the target. Each half (an HTTP/2 stream, see
// halves.hpp) turns its stream's events into the messages below and carries out the few
// operations the actor asks of it; the halves pace each other's reads (read_gate) so bytes never
// wait for the actor between two operations.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/status.h>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
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

// shutdown: the proxy is stopping. A call whose caller is still sending (a stream: replication
// streams never stop on their own) ends at once with UNAVAILABLE, so the caller calls again,
// elsewhere or once the proxy is back; a call whose requests are all in (a unary call) runs to
// its end.
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
  virtual void send_metadata(metadata_list headers) = 0;
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
