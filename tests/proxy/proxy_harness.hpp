// Runs the proxy in-process between two echo servers (cluster A's and cluster B's stand-ins).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <variant>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/supervisor.hpp"
#include "config/config.hpp"
#include "support/echo_client.hpp"
#include "support/echo_server.hpp"

namespace s2s::testing {

// An endpoint on loopback with an ephemeral port, optionally with TLS.
config::endpoint loopback(int port, config::tls_config tls = {});

// A TCP-mode cluster connection: local Temporal = `local_frontend`, remote side = `remote`.
config::cluster_connection tcp_connection(std::string name, int local_frontend, int remote);

class proxy_process {
 public:
  explicit proxy_process(const config::config& config, actors::proxy_options options = {});
  ~proxy_process();

  // The bound port of "<connection> outbound" / "<connection> inbound".
  int port(const std::string& endpoint_name) const;
  std::string address(const std::string& endpoint_name) const;
  actors::proxy_report report();
  caf::actor_system& system() { return *system_; }

 private:
  caf::actor_system_config actor_config_;
  std::unique_ptr<caf::actor_system> system_;
  std::optional<actors::started_proxy> proxy_;
};

// Starts the proxy and returns its error instead of throwing.
std::optional<std::string> proxy_start_error(const config::config& config);

}  // namespace s2s::testing
