// Runs the proxy in-process between two echo servers (cluster A's and cluster B's stand-ins).
#include "proxy/proxy_harness.hpp"

#include <stdexcept>
#include <thread>

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

config::cluster_connection mux_connection(std::string name, int local_frontend, config::connection_type remote_type,
                                          int mux_port, config::tls_config tls, int mux_count) {
  config::cluster_connection connection;
  connection.name = std::move(name);
  connection.local.type = config::connection_type::tcp;
  connection.local.tcp_client = loopback(local_frontend);
  connection.local.tcp_server = loopback(0);
  connection.remote.type = remote_type;
  connection.remote.mux_count = mux_count;
  connection.remote.mux_address = loopback(mux_port, std::move(tls));
  return connection;
}

config::tls_config mux_server_tls(const test_certificates& certs) {
  config::tls_config tls;
  tls.certificate_path = certs.trusted.server.certificate;
  tls.key_path = certs.trusted.server.private_key;
  tls.remote_ca_path = certs.trusted.ca_certificate;
  return tls;
}

config::tls_config mux_client_tls(const test_certificates& certs) {
  config::tls_config tls;
  tls.certificate_path = certs.trusted.client.certificate;
  tls.key_path = certs.trusted.client.private_key;
  tls.remote_ca_path = certs.trusted.ca_certificate;
  tls.ca_server_name = test_certificates::server_name;
  return tls;
}

proxy_process::proxy_process(const config::config& config, actors::proxy_options options) {
  actor_config_.set("scheduler.max-threads", std::size_t{4});
  if (auto problems = actors::prepare_actor_system(actor_config_, config); !problems.empty())
    throw std::runtime_error("proxy did not start: " + problems.front());
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
  self->request(proxy_->supervisor, std::chrono::seconds(30), actors::stop_atom::value, std::chrono::milliseconds(2000))
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
      .receive([&](actors::proxy_report& report) { result = std::move(report); }, [](caf::error&) {});
  return result;
}

namespace {

actors::mux_report find_mux(const actors::proxy_report& report, const std::string& name) {
  for (const auto& mux : report.mux)
    if (mux.name == name + " mux")
      return mux;
  throw std::runtime_error("the proxy has no mux connection named '" + name + "'");
}

}  // namespace

int proxy_process::mux_port(const std::string& connection) const { return find_mux(proxy_->report, connection).port; }

actors::mux_connection_stats proxy_process::mux_stats(const std::string& connection) {
  caf::scoped_actor self{*system_};
  actors::mux_connection_stats result;
  self->request(find_mux(report(), connection).connection, std::chrono::seconds(10), actors::stats_atom::value)
      .receive([&](actors::mux_connection_stats& stats) { result = std::move(stats); }, [](caf::error&) {});
  return result;
}

std::vector<std::uint64_t> proxy_process::mux_leases(const std::string& connection) {
  caf::scoped_actor self{*system_};
  std::vector<std::uint64_t> result;
  self->request(find_mux(report(), connection).outbound, std::chrono::seconds(10), actors::stats_atom::value)
      .receive([&](actors::mux_upstream_stats& stats) { result = std::move(stats.leases); }, [](caf::error&) {});
  return result;
}

bool proxy_process::wait_for_sessions(const std::string& connection, std::size_t count,
                                      std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  caf::scoped_actor self{*system_};
  while (std::chrono::steady_clock::now() < until) {
    auto mux = find_mux(report(), connection);  // the actors of the moment: they may have been restarted
    std::size_t channels = 0;
    self->request(mux.outbound, std::chrono::seconds(10), actors::channels_atom::value)
        .receive([&](std::size_t n) { channels = n; }, [](caf::error&) {});
    if (channels == count && mux_stats(connection).sessions_live == count)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::optional<std::string> proxy_start_error(const config::config& config) {
  caf::actor_system_config actor_config;
  caf::actor_system system{actor_config};
  auto started = actors::start_proxy(system, config);
  if (auto* problem = std::get_if<std::string>(&started))
    return *problem;
  caf::scoped_actor self{system};
  self->request(std::get<actors::started_proxy>(started).supervisor, std::chrono::seconds(30), actors::stop_atom::value,
                std::chrono::milliseconds(0))
      .receive([](bool) {}, [](caf::error&) {});
  return std::nullopt;
}

}  // namespace s2s::testing
