// The supervisor actor: keeps a table of supervised children alive. A child that ends is started again
// after its restart policy's backoff, and the children wired to it learn of its replacement; one whose
// failure budget is spent stays down and is reported. Stops them all in order.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/listener.hpp"
#include "actors/membership.hpp"
#include "actors/mux/connection.hpp"
#include "actors/mux/upstream.hpp"
#include "actors/restart_policy.hpp"

namespace s2s::actors {

// What a supervised child is: how the supervisor stops it, and the `kind` label of its metrics.
//   listener: asked to stop and drain, first;
//   mux_connection: told to stop once the listeners have drained;
//   upstream (TCP or mux), schema: ended last.
enum class child_kind { listener, upstream, mux_connection, schema, member };

// "listener", "upstream", "mux_connection", "schema", "member": as the actor metrics name the kinds.
std::string_view kind_label(child_kind kind);
// "listener", "upstream", "mux connection", "schema actor", "group member": as a log line or a reason names them.
std::string_view kind_words(child_kind kind);

// One start of a child: its actor and, for a listener or a mux-server, the port it bound.
struct started_child {
  caf::strong_actor_ptr actor;
  int port = 0;
};

// The actors of the table as they are now, by index; a child that is down is its last actor.
class child_actors {
 public:
  explicit child_actors(const std::vector<caf::strong_actor_ptr>& actors) : actors_(actors) {}
  template <class Handle>
  Handle get(std::size_t child) const {
    return caf::actor_cast<Handle>(actors_.at(child));
  }

 private:
  const std::vector<caf::strong_actor_ptr>& actors_;
};

// A child this one uses, and how this one learns that it was replaced: `learn` gets this child's
// actor (possibly down, then the message is lost and its own restart reads the new one) and the
// replacement. Runs on the supervisor.
struct child_use {
  std::size_t child = 0;  // an earlier entry of the table
  std::function<void(const caf::strong_actor_ptr& self, const caf::strong_actor_ptr& replacement)> learn;
};

using child_start = std::function<std::variant<started_child, std::string>(caf::actor_system&, const child_actors&)>;

// One row of the table.
struct child_spec {
  std::string name;  // in logs and reports: "a-to-b outbound", "a-to-b outbound upstream", "a-to-b mux", ...
  child_kind kind = child_kind::upstream;
  std::string address;  // what it serves or dials, for reports; may be empty
  // Starts the child, wired to the children it uses as they are now (only earlier entries); or why it cannot.
  child_start start;
  std::vector<child_use> uses;
  // The listeners ("<connection> outbound" / "inbound") whose calls need this child: their sides are
  // reported not ready once it is given up.
  std::vector<std::string> serves;
  // Told to the child each time it starts, once the supervisor watches it (a schema actor is told to end
  // with the supervisor); may be empty.
  std::function<void(const caf::strong_actor_ptr& child, const caf::actor_addr& supervisor)> adopted;
  restart_settings restarts;
};

// A test hook, never sent in service: the supervisor blocks in its handler for good, as a wedged
// actor would, so a test can see the service manager's watchdog pings stop. The binary sends it
// only on SIGUSR1 with S2S_TEST_HOOK_HANG_ON_SIGUSR1 set (app/main.cpp).
using test_hang_atom = caf::atom_constant<caf::atom("testhang")>;
// A test hook, never sent in service: the supervisor kills (exit reason kill) each child whose name or
// kind label is the string, as a crash would end it. The binary sends it only on SIGUSR2 with
// S2S_TEST_HOOK_KILL_ON_SIGUSR2 set (app/main.cpp).
using test_kill_atom = caf::atom_constant<caf::atom("testkill")>;

// One child as the supervisor sees it now.
struct child_report {
  std::string name;
  child_kind kind = child_kind::upstream;
  caf::actor_addr actor;  // the latest actor; one that is down until it is restarted
  bool up = true;
  bool given_up = false;       // failed more often than its restart budget allows and stays down
  std::uint64_t restarts = 0;  // restarts that took
  std::uint64_t failures = 0;  // times it went down, and restarts that failed
  std::vector<std::string> serves;
};

// One endpoint the proxy serves, as reported to operators and tests.
struct endpoint_report {
  std::string name;  // "<connection> outbound" / "<connection> inbound"
  std::string address;
  int port = 0;
  listener_actor listener;
  // The listener failed more often than its restart budget allows and stays down.
  bool given_up = false;
};

// The yamux side of a mux-mode cluster connection.
struct mux_report {
  std::string name;  // "<connection> mux"
  std::string address;
  int port = 0;  // mux-server: the bound port; mux-client: the dialed port
  mux_connection_actor connection;
  mux_upstream_actor outbound;
  std::optional<membership_actor> member;  // with memberlist enabled: this instance in its side's group
};

struct proxy_report {
  std::vector<endpoint_report> endpoints;
  std::uint64_t listener_restarts = 0;  // restarts that took
  std::uint64_t listener_failures = 0;  // listeners that went down, and restarts that failed
  std::vector<mux_report> mux;          // empty without mux connections
  std::vector<child_report> children;   // every supervised child, in the table's order
  std::size_t mailbox_depth = 0;        // the supervisor's: messages waiting behind the stats request
};

using supervisor_actor = caf::typed_actor<caf::replies_to<stop_atom, std::chrono::milliseconds>::with<bool>,
                                          caf::replies_to<stats_atom>::with<proxy_report>,
                                          caf::reacts_to<test_hang_atom>, caf::reacts_to<test_kill_atom, std::string>>;

// Starts every child of the table in order, as they are first served: the actors, or every problem
// (one a line) with nothing left running.
std::variant<std::vector<started_child>, std::string> start_children(caf::actor_system& system,
                                                                     const std::vector<child_spec>& table);

// The supervisor of the children `start_children` started from `table`.
supervisor_actor spawn_supervisor(caf::actor_system& system, std::vector<child_spec> table,
                                  std::vector<started_child> started);

// What the supervisor's report says of the children just started, before it is asked.
proxy_report report_of(const std::vector<child_spec>& table, const std::vector<started_child>& started);

}  // namespace s2s::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::proxy_report)
