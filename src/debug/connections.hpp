// The debug endpoint: /debug/connections, a JSON picture of connections, listeners and actors.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/supervisor.hpp"
#include "actors/translator.hpp"
#include "config/config.hpp"
#include "http/server.hpp"
#include "metrics/proxy_metrics.hpp"

namespace s2s::debug {

// A part of the picture that its owner draws (mux sessions and streams): `json` returns one
// JSON value, placed under `name`. Called on the debug server's thread; must return quickly.
struct section {
  std::string name;
  std::function<std::string()> json;
};

// One mux connection as its actors report it now; each part empty when its actor did not answer
// within a second.
struct mux_view {
  std::optional<actors::mux_connection_stats> connection;
  std::vector<actors::mux_session_stats> sessions;     // up or coming up
  std::optional<actors::member_view> group;            // with memberlist enabled: the member's view
  std::optional<actors::mux_upstream_stats> outbound;  // with memberlist enabled: the mux upstream's figures
  std::size_t live_streams() const;
};
// Asks the mux connection, then each of its sessions, and the group member if there is one. Blocks the
// calling thread (not an actor's).
mux_view look_at(caf::actor_system& system, const actors::mux_report& mux, bool with_sessions = true);

// What the endpoint looks at. Everything must outlive the server.
struct inspection {
  config::config config;
  caf::actor_system* system = nullptr;
  actors::supervisor_actor supervisor;
  std::shared_ptr<metrics::proxy_metrics> metrics;               // may be null: no actor counts then
  std::shared_ptr<const actors::translation_setup> translation;  // may be null: no "schemas" then
  std::vector<section> sections;
};

// {"clusterConnections": [...], "supervisor": {...}, "listeners": [...], "mux": [...], "actors": {...},
//  "schemas": [...], <sections>}; "mux" lists each mux connection with its sessions and their open
//  streams; "schemas" each source of Temporal descriptors and whether it is loaded.
// Listeners that do not answer within a second are listed with "state": "unresponsive".
std::string connections_json(const inspection& target);

// A connection's shardCount: null when the counts are equal; for lcm the counts, the count each cluster is
// told, and per side every replication stream as opened and as mapped ({"opened": [client, server],
// "mapped": [client, server]}).
std::string shard_count_json(const config::shard_count& shards);

// Quotes and escapes text as a JSON string.
std::string json_string(std::string_view text);

// Serves GET /debug/connections on `address` until the server is destroyed.
std::variant<std::unique_ptr<http::server>, std::string> serve_debug(const config::address& address,
                                                                     std::shared_ptr<const inspection> target);

}  // namespace s2s::debug
