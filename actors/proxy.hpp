// The proxy from its config: the table of supervised children of every cluster connection (its
// upstreams, listeners, mux connection and the schema actors its translators read), started and
// handed to a supervisor.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/call/call.hpp"
#include "actors/restart_policy.hpp"
#include "actors/routing_hub.hpp"
#include "actors/supervisor.hpp"
#include "config/config.hpp"

namespace s2s::actors {

class translation_observer;
class translation_setup;

struct proxy_options {
  // Runs on every call before the filters the config asks for.
  std::shared_ptr<call_filter> filter;
  // Makes the observer of one listener's calls, given the listener's name (metrics); may be empty.
  std::function<std::shared_ptr<call_observer>(std::string_view listener_name)> observe_calls;
  // Told what every translator does (metrics); may be null.
  std::shared_ptr<translation_observer> observe_translation;
  // Told what the routing hubs do (shardCount.mode routing; metrics); may be null.
  std::shared_ptr<routing_observer> observe_routing;
  // Picks the calls that get an upstream connection of their own (see rpc/stream_channels.hpp);
  // empty: rpc::is_long_lived_stream, Temporal's replication streams.
  std::function<bool(std::string_view method)> long_lived_stream;
  // How each supervised child (listener, upstream, mux connection, schema actor) is brought back when it fails.
  restart_settings restarts;
};

// The children of every cluster connection, in the order they start (a child uses only earlier ones),
// then the schema actors, and the translators they feed. Starts nothing.
struct proxy_children {
  std::vector<child_spec> table;
  std::shared_ptr<translation_setup> translation;
};
proxy_children proxy_table(const config::config& config, const proxy_options& options);

// What the actor system needs before it starts for this config: with memberlist enabled, CAF's middleman
// and OpenSSL module with the group's TLS files (one group identity per process). Returns the problems.
std::vector<std::string> prepare_actor_system(caf::actor_system_config& actor_config, const config::config& config);

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
