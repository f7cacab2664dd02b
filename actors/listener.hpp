// The listener actor: one gRPC server endpoint. It accepts every call, whatever the method,
// gives each its own call actor, and watches them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <variant>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/call/call.hpp"
#include "actors/h2/connection.hpp"
#include "actors/routing_hub.hpp"
#include "config/config.hpp"

namespace s2s::actors {

// A transport that carries one HTTP/2 connection (a mux stream's): the listener serves the calls
// on it, on the loop the handover names. Dropped unused, the transport closes its stream.
struct adopt_connection {
  std::shared_ptr<transport_handover> transport;
};

struct listener_stats {
  std::uint64_t calls_started = 0;
  std::uint64_t calls_failed = 0;  // call actors that ended abnormally
  std::uint64_t calls_live = 0;
  std::size_t mailbox_depth = 0;        // messages waiting behind the stats request
  std::optional<routing_view> routing;  // shardCount.mode routing: the side's hub
};

// stop: stops accepting, ends the streams in flight with UNAVAILABLE (see shutdown_atom), lets
// the other calls finish until `drain` passes, cancels the rest, replies, and the listener ends.
// upstream: calls accepted from now on go to this upstream (the one they went to was restarted);
// the calls in flight keep theirs.
using listener_actor =
    caf::typed_actor<caf::reacts_to<adopt_connection>,
                     caf::replies_to<stop_atom, std::chrono::milliseconds>::with<bool>,
                     caf::replies_to<stats_atom>::with<listener_stats>, caf::reacts_to<upstream_atom, upstream_actor>>;

struct listener_spec {
  std::string name;  // e.g. "a-to-b outbound"
  config::endpoint endpoint;
  upstream_actor upstream;
  std::shared_ptr<call_filter> filter;      // may be null
  std::shared_ptr<call_observer> observer;  // may be null
  // shardCount.mode routing: the replication streams it takes end at its hub instead of `upstream`; may be null.
  std::shared_ptr<routing_entrance> routing;
};

struct started_listener {
  listener_actor actor;
  int port = 0;  // the bound port (useful when the config asked for port 0)
};

// Binds the endpoint and starts serving. On failure nothing keeps running and the string
// says which address could not be served and why.
std::variant<started_listener, std::string> start_listener(caf::actor_system& system, listener_spec spec);

// Starts serving without any listening port: calls arrive only on connections handed over with
// adopt_connection (the inbound side of mux mode). spec.endpoint is not used; port is 0.
std::variant<started_listener, std::string> start_portless_listener(caf::actor_system& system, listener_spec spec);

}  // namespace s2s::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::adopt_connection)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::listener_stats)
