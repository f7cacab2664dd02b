// Runs the proxy in-process between two echo servers (cluster A's and cluster B's stand-ins).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/proxy.hpp"
#include "config/config.hpp"
#include "support/certs.hpp"
#include "support/echo_client.hpp"
#include "support/echo_server.hpp"

namespace s2s::testing {

// An endpoint on loopback with an ephemeral port, optionally with TLS.
config::endpoint loopback(int port, config::tls_config tls = {});

// A TCP-mode cluster connection: local Temporal = `local_frontend`, remote side = `remote`.
config::cluster_connection tcp_connection(std::string name, int local_frontend, int remote);

// A mux-mode cluster connection: local Temporal = `local_frontend` (tcp), remote side a
// mux-client dialing or a mux-server listening on `mux_port` (0: any free port, for a server).
config::cluster_connection mux_connection(std::string name, int local_frontend, config::connection_type remote_type,
                                          int mux_port, config::tls_config tls = {}, int mux_count = 1);

// The TLS blocks of a mux pair with the test certificates: the server presents the trusted
// server certificate and requires a client certificate from the trusted CA; the client
// presents the trusted client certificate and checks the server's name.
config::tls_config mux_server_tls(const test_certificates& certs);
config::tls_config mux_client_tls(const test_certificates& certs);

class proxy_process {
 public:
  explicit proxy_process(const config::config& config, actors::proxy_options options = {});
  ~proxy_process();

  // The bound port of "<connection> outbound" / "<connection> inbound".
  int port(const std::string& endpoint_name) const;
  std::string address(const std::string& endpoint_name) const;
  actors::proxy_report report();
  // The port of "<connection> mux": the listening port of a mux-server.
  int mux_port(const std::string& connection) const;
  // These three ask the mux connection and mux upstream of the moment (either may have been restarted).
  actors::mux_connection_stats mux_stats(const std::string& connection);
  // The calls the outbound side of `connection` leased on each live session's channel.
  std::vector<std::uint64_t> mux_leases(const std::string& connection);
  // Polls until `connection` has `count` live sessions and as many channels for outbound calls;
  // false if that did not happen in time.
  bool wait_for_sessions(const std::string& connection, std::size_t count, std::chrono::milliseconds timeout);
  caf::actor_system& system() { return *system_; }

 private:
  caf::actor_system_config actor_config_;
  std::unique_ptr<caf::actor_system> system_;
  std::optional<actors::started_proxy> proxy_;
};

// Starts the proxy and returns its error instead of throwing.
std::optional<std::string> proxy_start_error(const config::config& config);

}  // namespace s2s::testing
