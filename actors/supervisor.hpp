// The supervisor actor: builds every cluster connection's upstreams and listeners from the
// config, restarts a listener that fails, and stops everything in order.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "actors/call.hpp"
#include "actors/listener.hpp"
#include "actors/mux_connection.hpp"
#include "actors/restart_policy.hpp"
#include "config/config.hpp"

namespace s2s::actors {

class translation_observer;

struct proxy_options {
  // Runs on every call before the filters the config asks for.
  std::shared_ptr<call_filter> filter;
  // Makes the observer of one listener's calls, given the listener's name (metrics); may be empty.
  std::function<std::shared_ptr<call_observer>(std::string_view listener_name)> observe_calls;
  // Told what every translator does (metrics); may be null.
  std::shared_ptr<translation_observer> observe_translation;
  // Picks the calls that get an upstream connection of their own (see rpc/stream_channels.hpp);
  // empty: rpc::is_long_lived_stream, Temporal's replication streams.
  std::function<bool(std::string_view method)> long_lived_stream;
  // How each listener is brought back when it fails.
  restart_settings listener_restarts;
};

using restart_atom = caf::atom_constant<caf::atom("restart")>;
// A test hook, never sent in service: the supervisor blocks in its handler for good, as a wedged
// actor would, so a test can see the service manager's watchdog pings stop. The binary sends it
// only on SIGUSR1 with S2S_TEST_HOOK_HANG_ON_SIGUSR1 set (app/main.cpp).
using test_hang_atom = caf::atom_constant<caf::atom("testhang")>;

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
};

struct proxy_report {
  std::vector<endpoint_report> endpoints;
  std::uint64_t listener_restarts = 0;  // restarts that took
  std::uint64_t listener_failures = 0;  // listeners that went down, and restarts that failed
  std::vector<mux_report> mux;          // empty without mux connections
  std::size_t mailbox_depth = 0;        // the supervisor's: messages waiting behind the stats request
};

using supervisor_actor = caf::typed_actor<caf::replies_to<stop_atom, std::chrono::milliseconds>::with<bool>,
                                          caf::replies_to<stats_atom>::with<proxy_report>,
                                          caf::reacts_to<restart_atom, std::size_t>, caf::reacts_to<test_hang_atom>>;

class translation_setup;

struct started_proxy {
  supervisor_actor supervisor;
  proxy_report report;
  // The translators of every cluster connection, to give them new settings (SIGHUP).
  std::shared_ptr<translation_setup> translation;
};

// Starts serving everything the config describes; fails as a whole, with every problem in
// the message, when any endpoint cannot be served. The config is one that config::parse
// accepted: the shape of each connection (a tcp local side, the blocks its types need) is
// not checked again here.
std::variant<started_proxy, std::string> start_proxy(caf::actor_system& system, const config::config& config,
                                                     proxy_options options = {});

}  // namespace s2s::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::proxy_report)
