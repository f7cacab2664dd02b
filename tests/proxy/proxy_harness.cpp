// Runs the proxy in-process between two echo servers (cluster A's and cluster B's stand-ins).
#include "proxy/proxy_harness.hpp"

#include <stdexcept>

#include <caf/scoped_actor.hpp>

namespace s2s::testing {

config::endpoint loopback(int port, config::tls_config tls) {
  config::endpoint endpoint;
  endpoint.addr = {"127.0.0.1", static_cast<std::uint16_t>(port)};
  endpoint.tls = std::move(tls);
  return endpoint;
}

config::cluster_connection tcp_connection(std::string name, int local_frontend, int remote) {
  config::cluster_connection connection;
  connection.name = std::move(name);
  connection.local.type = config::connection_type::tcp;
  connection.local.tcp_client = loopback(local_frontend);
  connection.local.tcp_server = loopback(0);
  connection.remote.type = config::connection_type::tcp;
  connection.remote.tcp_client = loopback(remote);
  connection.remote.tcp_server = loopback(0);
  return connection;
}

proxy_process::proxy_process(const config::config& config, actors::proxy_options options) {
  actor_config_.set("scheduler.max-threads", std::size_t{4});
  system_ = std::make_unique<caf::actor_system>(actor_config_);
  auto started = actors::start_proxy(*system_, config, std::move(options));
  if (auto* problem = std::get_if<std::string>(&started))
    throw std::runtime_error("proxy did not start: " + *problem);
  proxy_ = std::get<actors::started_proxy>(std::move(started));
}

proxy_process::~proxy_process() {
  if (!proxy_)
    return;
  caf::scoped_actor self{*system_};
  self->request(proxy_->supervisor, std::chrono::seconds(30), actors::stop_atom::value,
                std::chrono::milliseconds(2000))
      .receive([](bool) {}, [](caf::error&) {});
}

int proxy_process::port(const std::string& endpoint_name) const {
  for (const auto& endpoint : proxy_->report.endpoints)
    if (endpoint.name == endpoint_name)
      return endpoint.port;
  throw std::runtime_error("the proxy serves no endpoint named '" + endpoint_name + "'");
}

std::string proxy_process::address(const std::string& endpoint_name) const {
  return "127.0.0.1:" + std::to_string(port(endpoint_name));
}

actors::proxy_report proxy_process::report() {
  caf::scoped_actor self{*system_};
  actors::proxy_report result;
  self->request(proxy_->supervisor, std::chrono::seconds(10), actors::stats_atom::value)
      .receive([&](actors::proxy_report& report) { result = std::move(report); },
               [](caf::error&) {});
  return result;
}

std::optional<std::string> proxy_start_error(const config::config& config) {
  caf::actor_system_config actor_config;
  caf::actor_system system{actor_config};
  auto started = actors::start_proxy(system, config);
  if (auto* problem = std::get_if<std::string>(&started))
    return *problem;
  caf::scoped_actor self{system};
  self->request(std::get<actors::started_proxy>(started).supervisor, std::chrono::seconds(30),
                actors::stop_atom::value, std::chrono::milliseconds(0))
      .receive([](bool) {}, [](caf::error&) {});
  return std::nullopt;
}

}  // namespace s2s::testing
