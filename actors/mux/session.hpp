// The mux-session actor: one yamux session on one TLS TCP connection. It owns the connection's
// I/O (mux_io), gives its outbound gRPC channel (one yamux stream it opens) to the mux
// upstream, hands the streams the peer opens to the inbound listener, and reports up and down
// to the actor that keeps the sessions (mux_connection), which passes inbound streams on.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/listener.hpp"
#include "actors/mux/io.hpp"
#include "actors/mux/upstream.hpp"
#include "config/config.hpp"
#include "tls/context.hpp"
#include "yamux/config.hpp"

namespace s2s::actors {

struct mux_session_stats {
  std::string peer;
  bool up = false;
  std::size_t live_streams = 0;
  std::uint64_t streams_accepted = 0;
  std::uint64_t channels_opened = 0;
  std::uint32_t channel_stream = 0;  // the stream under the outbound channel; 0: none now
  std::size_t mailbox_depth = 0;     // messages waiting behind the stats request
};

// The session is driven by its own I/O (see session.cpp); others ask it how it is, and its
// keeper tells it when the mux upstream was restarted (upstream): it offers its channel to the new one.
using mux_session_actor = caf::typed_actor<caf::replies_to<stats_atom>::with<mux_session_stats>,
                                           caf::reacts_to<upstream_atom, mux_upstream_actor>>;

// --- what a session tells the actor that keeps it
struct mux_session_up {
  mux_session_actor session;
  std::string peer;
};
// The session is over and its actor has quit; `was_up` false: it never got past TCP or TLS.
struct mux_session_down {
  mux_session_actor session;
  std::string reason;
  bool was_up = false;
};

// adopt_connection: a stream the peer opened, for the inbound listener of the moment.
using mux_session_observer = caf::typed_actor<caf::reacts_to<mux_session_up>, caf::reacts_to<mux_session_down>,
                                              caf::reacts_to<adopt_connection>>;

struct mux_session_spec {
  std::string name;  // e.g. "a-to-b mux session 1", for logs
  // Exactly one of: dial (mux-client) or an accepted socket (mux-server).
  std::optional<config::address> dial;
  int accepted_fd = -1;
  config::tls_config tls;
  tls::context_ptr tls_context;  // null: plain TCP
  yamux::config yamux;
  std::chrono::milliseconds handshake_timeout{10000};
  mux_session_observer observer;
  mux_upstream_actor outbound;           // receives this session's channel
  std::shared_ptr<mux_traffic> traffic;  // may be null
};

mux_session_actor spawn_mux_session(caf::actor_system& system, mux_session_spec spec);

}  // namespace s2s::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::mux_session_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::mux_session_up)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::mux_session_down)
