// The membership of one side's proxy instances over CAF's distributed actors: publishes itself on the
// memberlist port, joins the configured peers (retrying with a capped backoff), says hello, sends
// heartbeats, watches each peer's connection and answers who is alive. The decisions are the pure
// table's (src/cluster/membership.hpp, which states the failure-detection bound); this actor owns the
// timers and the connections. Mutual TLS is CAF's OpenSSL module, set up by configure_group_tls.
#pragma once

#include <caf/all.hpp>
#include <caf/io/middleman_actor.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "actors/atoms.hpp"
#include "actors/group_link.hpp"
#include "actors/mux/upstream.hpp"
#include "cluster/group_config.hpp"
#include "cluster/membership.hpp"

namespace s2s::actors {

// -- On the wire between instances (announced to CAF by add_membership_types) --------------------

// The first message on a connection, each way: who the sender is. The reply is the receiver's own
// hello, or an error of category group_error_category whose context is the reason as text.
struct member_hello {
  std::string node_name;
  std::uint64_t incarnation = 0;
  std::string proxy_address;
  // Where the sender listens for its peers (memberlist bindAddr and the port it got): a peer whose joinAddrs
  // entry names it does not dial it again while the two are linked.
  std::string member_address;
};

// Sent to every accepted peer each probe interval, with the sender's live mux sessions.
struct member_heartbeat {
  std::string node_name;
  std::uint64_t incarnation = 0;
  std::uint32_t sessions = 0;
};

// Sent to every accepted peer when this instance stops (SIGTERM), before it drains: the peers take it
// for dead at once and forward nothing more to it.
struct member_leave {
  std::string node_name;
  std::uint64_t incarnation = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_leave& x) {
  return f(caf::meta::type_name("s2s.member_leave"), x.node_name, x.incarnation);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_hello& x) {
  return f(caf::meta::type_name("s2s.member_hello"), x.node_name, x.incarnation, x.proxy_address, x.member_address);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_heartbeat& x) {
  return f(caf::meta::type_name("s2s.member_heartbeat"), x.node_name, x.incarnation, x.sessions);
}

// Category of the errors a member answers a refused hello with.
inline constexpr caf::atom_value group_error_category = caf::atom("s2sgroup");

// -- The local view -------------------------------------------------------------------------------

// How far one memberlist.joinAddrs entry has got.
struct join_status {
  std::string address;  // host:port as configured
  // waiting (for its next attempt), connecting, greeting (hello sent), joined, or self (the entry is
  // this instance's own address: not dialled again)
  std::string phase;
  int failures = 0;        // attempts that failed since the last success
  std::string last_error;  // why the last attempt failed; empty after a success
};

// What a `members` request answers.
struct member_view {
  cluster::member_identity self;
  std::uint16_t port = 0;  // where this instance is published; 0 until publishing succeeded
  cluster::time_point at{};
  std::chrono::milliseconds detection_bound{0};
  std::uint32_t sessions = 0;            // this instance's live mux sessions, as its heartbeats say
  std::vector<cluster::member> members;  // by name, dead ones included
  std::vector<std::string> carriers;     // the peers this instance's calls may be forwarded to, by name
  std::vector<join_status> joins;        // in configuration order
  std::vector<std::string> notices;      // refusals and warnings, oldest first
};

// -- The actor ------------------------------------------------------------------------------------

using members_atom = caf::atom_constant<caf::atom("members")>;
// This instance is stopping: tell every peer (member_leave), and from now on announce no sessions, send
// no heartbeats and join nobody; the member keeps answering views until it ends.
using leave_atom = caf::atom_constant<caf::atom("leave")>;
// Internal: the earliest due heartbeat, join attempt or failure deadline has come.
using group_wake_atom = caf::atom_constant<caf::atom("groupwake")>;

// What a peer instance accepts: the interface published on the memberlist port.
using membership_peer_actor =
    caf::typed_actor<caf::replies_to<member_hello>::with<member_hello>, caf::reacts_to<member_heartbeat>,
                     caf::reacts_to<member_leave>, caf::reacts_to<hub_note>>;

// upstream: the mux upstream of this instance's connection (a new one after a restart): asked for its
// sessions each probe interval, and told which peers can carry its calls whenever that changes.
using membership_actor =
    membership_peer_actor::extend<caf::replies_to<members_atom>::with<member_view>, caf::reacts_to<group_wake_atom>,
                                  caf::reacts_to<upstream_atom, mux_upstream_actor>, caf::reacts_to<leave_atom>,
                                  caf::reacts_to<relay_atom, hub_note>>;

struct membership_settings {
  cluster::group_plan plan;
  // The first retry of a joinAddrs entry comes after join_retry_initial; each failure doubles the
  // delay up to join_retry_max. A peer whose connection is lost is dialled again after
  // join_retry_initial.
  std::chrono::milliseconds join_retry_initial{1000};
  std::chrono::milliseconds join_retry_max{30000};
  // How long a connect or a hello may take before the attempt counts as failed.
  std::chrono::milliseconds request_timeout{5000};
  std::string log_component = "membership";
  // The connection's mux upstream; none: the member reports no sessions and forwards nothing.
  std::optional<mux_upstream_actor> upstream;
  // The link to this instance's routing hubs (shardCount routing): the member tells them the live members and
  // carries their notes to the peers' hubs. Null: no hubs.
  std::shared_ptr<group_link> hubs;
};

// Retries start at one probe interval, as a peer that missed one heartbeat is worth a new dial.
membership_settings membership_settings_from(cluster::group_plan plan);

// transport: the middleman actor that publishes and connects; with mutual TLS that is
// system.openssl_manager().actor_handle(). The actor quits with an error if it cannot publish itself.
membership_actor spawn_membership(caf::actor_system& system, membership_settings settings,
                                  caf::io::middleman_actor transport);

// Registers member_hello, member_heartbeat, member_leave and hub_note: every actor system of the group needs it.
void add_membership_types(caf::actor_system_config& config);

// The group's mutual TLS: a certificate and key (used both to accept and to dial peers, so its extended
// key usage must allow serverAuth and clientAuth, or be absent) and the CA bundle every peer's
// certificate must chain to.
struct group_tls {
  std::string certificate_path;
  std::string key_path;
  std::string ca_path;
};

// Loads CAF's middleman and OpenSSL module with these files and registers the group's messages.
// Returns the problems (a missing file, an empty setting); on problems the config is left unchanged.
std::vector<std::string> configure_group_tls(caf::actor_system_config& config, const group_tls& tls);

}  // namespace s2s::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::member_view)
