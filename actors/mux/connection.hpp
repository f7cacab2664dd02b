// The mux-connection actor: keeps the yamux sessions of one cluster connection. As mux-client
// it dials muxCount sessions and re-dials each with backoff when it ends; as mux-server it
// takes connections on its listening socket while fewer than muxCount sessions are up, and
// admits them so that a flood of connections that never speak cannot starve a real peer.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/mux/session.hpp"
#include "actors/mux/waiting_pool.hpp"

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

// How a mux-server admits connections and a mux-client paces its dials. A connection the server
// accepted waits, threadless, in a pool watched by the accepting thread until it sends its first
// TLS bytes; only then does it get a session and a setup thread for the handshake.
struct mux_admission {
  std::chrono::milliseconds hello_timeout{3000};  // accepted, and silent this long: closed
  // The TLS handshake and the peer's first yamux frame. Stalled handshakes cannot lock anyone
  // out (the oldest goes when max_handshakes are in progress), so this stays generous for
  // slow links.
  std::chrono::milliseconds handshake_timeout{10000};
  std::size_t max_waiting = 1024;           // silent connections in the pool; the oldest goes
  std::size_t max_waiting_per_source = 64;  // of one source IP; its own oldest goes
  std::size_t max_handshakes = 128;         // sessions in the handshake; the oldest goes
  int listen_backlog = 1024;                // where dials wait while muxCount sessions are up
  std::size_t max_dialing = 8;              // mux-client: sessions dialing or in the handshake
};

// Refusals by cause, indexed by mux_refusal.
struct mux_refusal_counts {
  std::array<std::uint64_t, mux_refusal_names.size()> by_cause{};
  std::uint64_t operator[](mux_refusal cause) const { return by_cause[static_cast<std::size_t>(cause)]; }
  std::uint64_t total() const;
  bool operator==(const mux_refusal_counts&) const = default;
};

// What the accepting thread and the actor count together; read from any thread.
struct mux_admission_counters {
  std::array<std::atomic<std::uint64_t>, mux_refusal_names.size()> refused{};
  std::atomic<std::size_t> waiting{0};  // connections in the pool now
  void count(mux_refusal cause) { ++refused[static_cast<std::size_t>(cause)]; }
  mux_refusal_counts snapshot() const;
};

struct mux_connection_stats {
  std::size_t sessions_live = 0;     // up (past TLS)
  std::size_t sessions_pending = 0;  // dialing or in the handshake
  std::uint64_t sessions_established = 0;
  std::uint64_t sessions_failed = 0;    // never came up (connect or TLS failed)
  std::uint64_t sessions_ended = 0;     // came up, then ended
  mux_refusal_counts refusals;          // mux-server: connections closed before or as they came up
  std::size_t connections_waiting = 0;  // mux-server: accepted, not yet spoken
  std::size_t dials_queued = 0;         // mux-client: slots waiting for a dial to finish first
  std::uint64_t redials = 0;            // mux-client: dials scheduled again
  // The first delays chosen, in order (at most max_kept_redial_delays, so a client that re-dials
  // for days does not grow with it).
  std::vector<std::chrono::milliseconds> redial_delays;
  static constexpr std::size_t max_kept_redial_delays = 64;
  std::vector<mux_session_actor> sessions;     // up or coming up, as of this report
  std::shared_ptr<const mux_traffic> traffic;  // every session's bytes and pings so far
  std::size_t mailbox_depth = 0;               // messages waiting behind the stats request
};

// inbound_atom: the inbound listener was restarted; streams go to this one from now on.
using inbound_atom = caf::atom_constant<caf::atom("inbound")>;

// upstream: the mux upstream was restarted; every session offers its channel to this one, and
// sessions started later give theirs to it.
using mux_connection_actor =
    mux_session_observer::extend<caf::reacts_to<inbound_atom, listener_actor>,
                                 caf::reacts_to<upstream_atom, mux_upstream_actor>,
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
  mux_admission admission;
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

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::mux_connection_stats)
