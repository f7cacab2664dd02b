// The mux-connection actor: keeps the yamux sessions of one cluster connection. As mux-client
// it dials muxCount sessions and re-dials each with backoff when it ends; as mux-server it
// accepts up to muxCount sessions on its listening socket and refuses the rest.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "actors/mux_session.hpp"

namespace s2s::actors {

// The delays between dial attempts of one session slot: 1 s, then ×1.5 up to 30 s, each with
// up to ±20% jitter so many proxies do not dial in step. Back to the start after a session
// was established.
class redial_backoff {
 public:
  struct settings {
    std::chrono::milliseconds first{1000};
    double factor = 1.5;
    std::chrono::milliseconds cap{30000};
    double jitter = 0.2;
  };
  redial_backoff() = default;
  explicit redial_backoff(settings s) : settings_(s), base_(s.first) {}

  // The next delay; `unit` in [0, 1) picks where in the jitter band it lands.
  std::chrono::milliseconds next(double unit);
  void reset() { base_ = settings_.first; }
  const settings& tuning() const { return settings_; }

 private:
  settings settings_;
  std::chrono::milliseconds base_{settings_.first};
};

struct mux_accepted_socket { int fd = -1; std::string peer; };
using redial_atom = caf::atom_constant<caf::atom("redial")>;

struct mux_connection_stats {
  std::size_t sessions_live = 0;      // up (past TLS)
  std::size_t sessions_pending = 0;   // dialing or in the handshake
  std::uint64_t sessions_established = 0;
  std::uint64_t sessions_failed = 0;  // never came up (connect or TLS failed)
  std::uint64_t sessions_ended = 0;   // came up, then ended
  std::uint64_t sessions_refused = 0; // mux-server: over muxCount, or too many handshakes
  std::vector<std::chrono::milliseconds> redial_delays;  // every delay chosen, in order
  std::vector<mux_session_actor> sessions;  // up or coming up, as of this report
  std::shared_ptr<const mux_traffic> traffic;  // every session's bytes and pings so far
  std::size_t mailbox_depth = 0;  // messages waiting behind the stats request
};

// inbound_atom: the inbound listener was restarted; streams go to this one from now on.
using inbound_atom = caf::atom_constant<caf::atom("inbound")>;

using mux_connection_actor = mux_session_observer::extend<
    caf::reacts_to<mux_accepted_socket>, caf::reacts_to<inbound_atom, listener_actor>, caf::reacts_to<redial_atom, std::size_t>,
    caf::replies_to<stats_atom>::with<mux_connection_stats>,
    caf::replies_to<stop_atom, std::chrono::milliseconds>::with<bool>>;

struct mux_connection_spec {
  std::string name;  // the cluster connection's name
  bool client = true;
  config::endpoint mux_address;
  int mux_count = 1;
  tls::context_ptr tls_context;  // null: plain TCP
  yamux::config yamux;
  redial_backoff::settings backoff;
  mux_upstream_actor outbound;
  listener_actor inbound;
};

struct started_mux_connection {
  mux_connection_actor actor;
  int port = 0;  // mux-server: the bound port; mux-client: the dialed port
};

// mux-server: binds the listening socket first, so a taken port is an error here.
// mux-client: starts dialing; a server that is down is not an error (it keeps retrying).
std::variant<started_mux_connection, std::string> start_mux_connection(caf::actor_system& system,
                                                                       mux_connection_spec spec);

}  // namespace s2s::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::mux_accepted_socket)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::mux_connection_stats)
