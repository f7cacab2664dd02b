// Every metric family of the proxy in one registry, and the /metrics endpoint that serves them.
#include "metrics/proxy_metrics.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <thread>

#include "sys/thread_name.hpp"

namespace s2s::metrics {

proxy_metrics::proxy_metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      calls(*registry_),
      actors(*registry_),
      translation(*registry_),
      routing(*registry_),
      mux(*registry_),
      log(*registry_) {
  before_scrape([this] { log.refresh(); });
}

std::shared_ptr<actors::call_observer> proxy_metrics::observe_calls(std::string_view endpoint_name) {
  return make_call_observer(calls, actors, endpoint_name);
}

void proxy_metrics::declare(const config::config& config) {
  for (const auto& connection : config.cluster_connections) {
    translation.declare(connection.name);
    mux.declare(connection.name);
  }
}

void proxy_metrics::before_scrape(std::function<void()> refresh) {
  std::lock_guard guard(refresh_mutex_);
  refreshers_.push_back(std::move(refresh));
}

void proxy_metrics::refresh() const {
  std::lock_guard guard(refresh_mutex_);
  for (const auto& refresher : refreshers_)
    refresher();
}

std::vector<prometheus::MetricFamily> proxy_metrics::Collect() const {
  refresh();
  return registry_->Collect();
}

namespace {

// Opens a TCP connection to host:port and closes it at once; whether it got through does not matter.
void knock(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0)
    return;
  int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, found->ai_protocol);
  if (fd >= 0) {
    [[maybe_unused]] int rc = ::connect(fd, found->ai_addr, found->ai_addrlen);
    ::close(fd);
  }
  ::freeaddrinfo(found);
}

}  // namespace

void exposer_stopper::operator()(prometheus::Exposer* exposer) const {
  if (!exposer)
    return;
  std::atomic<bool> deleted = false;
  std::thread knocker([&, ports = exposer->GetListeningPorts()] {
    sys::name_this_thread("s2s-metrics-end");
    for (int round = 0; round < 200 && !deleted; ++round) {
      for (int port : ports)
        knock(host, port);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  delete exposer;
  deleted = true;
  knocker.join();
}

std::variant<metrics_exposer, std::string> serve_metrics(const config::address& address,
                                                         const std::shared_ptr<proxy_metrics>& metrics) {
  bool wildcard = address.host.empty() || address.host == "0.0.0.0" || address.host == "::" || address.host == "[::]";
  auto host = wildcard ? std::string(address.host.find(':') != std::string::npos ? "::1" : "127.0.0.1") : address.host;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  metrics_exposer exposer(nullptr, exposer_stopper{host});
  // The validation refused an IPv6 address this civetweb cannot listen on; what fails here is the machine.
  try {
    // One thread: scrapes are rare, and the proxy's cores are for calls.
    exposer.reset(new prometheus::Exposer(address.to_string(), 1));
  } catch (const std::exception& e) {
    return "metrics: cannot listen on " + address.to_string() + ": " + e.what();
  }
  exposer->RegisterCollectable(metrics, "/metrics");
  return exposer;
}

}  // namespace s2s::metrics
