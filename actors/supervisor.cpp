// The supervisor actor: builds upstreams and listeners from the config and keeps them alive.
#include "actors/supervisor.hpp"
#include "actors/mailbox.hpp"

#include <algorithm>
#include <random>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/h2_target.hpp"
#include "actors/mux_upstream.hpp"
#include "actors/restart_policy.hpp"
#include "actors/translator.hpp"
#include "actors/upstream.hpp"
#include "log/log.hpp"
#include "rpc/credentials.hpp"
#include "rpc/stream_channels.hpp"
#include "tls/context.hpp"

namespace s2s::actors {
namespace {

struct supervised_listener {
  listener_spec spec;
  endpoint_report report;
  // Mux mode's inbound listener has no port; its mux connection learns of a restarted one.
  std::optional<mux_connection_actor> feeds;
  // Set by the supervisor when it takes the listener on.
  std::optional<restart_policy> restarts;
};

struct supervisor_state {
  static inline const char* name = "supervisor";
  std::vector<supervised_listener> listeners;
  std::vector<upstream_actor> upstreams;
  std::vector<mux_report> mux;
  bool stopping = false;
};

proxy_report make_report(const supervisor_state& st) {
  proxy_report report;
  for (const auto& child : st.listeners) {
    report.endpoints.push_back(child.report);
    report.listener_restarts += child.restarts->restarts();
    report.listener_failures += child.restarts->failures();
  }
  report.mux = st.mux;
  return report;
}

// The listener failed just now (went down, or could not be started again): schedules the next
// attempt, or leaves the listener down once its failure budget is spent.
void listener_failed(supervisor_actor::stateful_pointer<supervisor_state> self, std::size_t index) {
  auto& child = self->state.listeners[index];
  if (auto delay = child.restarts->on_failure(self->clock().now())) {
    self->delayed_send(self, *delay, restart_atom::value, index);
    return;
  }
  child.report.given_up = true;
  log::error(child.report.name, "the listener failed " + std::to_string(child.restarts->failures()) +
                                    " times and is not restarted again; the rest of the proxy keeps serving");
}

supervisor_actor::behavior_type supervisor_behavior(supervisor_actor::stateful_pointer<supervisor_state> self,
                                                    std::vector<supervised_listener> listeners,
                                                    std::vector<upstream_actor> upstreams, std::vector<mux_report> mux,
                                                    restart_settings restarts) {
  auto& st = self->state;
  st.listeners = std::move(listeners);
  st.upstreams = std::move(upstreams);
  st.mux = std::move(mux);
  // One draw per delay, shared by every listener: listeners that fail together come back apart.
  auto engine = std::make_shared<std::minstd_rand>(std::random_device{}());
  auto draw = [engine] { return std::uniform_real_distribution<double>(0, 1)(*engine); };
  for (auto& child : st.listeners) {
    child.restarts.emplace(restarts, draw);
    self->monitor(child.report.listener);
  }
  self->set_down_handler([self](caf::down_msg& down) {
    auto& st = self->state;
    if (st.stopping)
      return;
    for (std::size_t index = 0; index < st.listeners.size(); ++index) {
      auto& child = st.listeners[index];
      if (child.report.listener.address() != down.source)
        continue;
      listener_failed(self, index);
    }
  });
  return {
      [self](restart_atom, std::size_t index) {
        auto& st = self->state;
        if (st.stopping || index >= st.listeners.size())
          return;
        auto& child = st.listeners[index];
        auto started = child.feeds ? start_portless_listener(self->system(), child.spec)
                                   : start_listener(self->system(), child.spec);
        if (auto* ok = std::get_if<started_listener>(&started)) {
          child.report.listener = ok->actor;
          if (child.feeds)
            self->send(*child.feeds, inbound_atom::value, ok->actor);
          child.report.port = ok->port;
          child.restarts->on_restart(self->clock().now());
          self->monitor(ok->actor);
        } else {
          // The port may still be held; try again later, backing off.
          log::warn(child.report.name, "restarting the listener failed: " + std::get<std::string>(started));
          listener_failed(self, index);
        }
      },
      [self](stats_atom) {
        auto report = make_report(self->state);
        report.mailbox_depth = messages_waiting(self);
        return report;
      },
      [](test_hang_atom) {
        log::warn("supervisor", "test hook: blocking this handler until the process is killed");
        for (;;)
          std::this_thread::sleep_for(std::chrono::hours(1));
      },
      [self](stop_atom, std::chrono::milliseconds drain) -> caf::result<bool> {
        auto& st = self->state;
        st.stopping = true;
        auto promise = self->make_response_promise<bool>();
        auto pending = std::make_shared<std::size_t>(st.listeners.size());
        auto finish = [self, promise]() mutable {
          // Sessions close after the listeners drained the calls that ran on them.
          for (auto& mux : self->state.mux) {
            caf::anon_send(mux.connection, stop_atom::value, std::chrono::milliseconds(0));
            self->send_exit(mux.outbound, caf::exit_reason::user_shutdown);
          }
          for (auto& upstream : self->state.upstreams)
            self->send_exit(upstream, caf::exit_reason::user_shutdown);
          promise.deliver(true);
          self->quit();
        };
        if (*pending == 0) {
          finish();
          return promise;
        }
        for (auto& child : st.listeners) {
          self->request(child.report.listener, drain + std::chrono::seconds(5), stop_atom::value, drain)
              .then(
                  [pending, finish](bool) mutable {
                    if (--*pending == 0)
                      finish();
                  },
                  [pending, finish](caf::error&) mutable {
                    if (--*pending == 0)
                      finish();
                  });
        }
        return promise;
      },
  };
}

std::shared_ptr<call_observer> observer_of(const proxy_options& options, const std::string& listener_name) {
  return options.observe_calls ? options.observe_calls(listener_name) : nullptr;
}

// The way to one TCP target: HTTP/2 connections shared by the calls that come and go, and
// connections of their own for long-lived streams (see rpc/stream_channels.hpp), each logged as it opens.
std::variant<upstream_actor, std::string> tcp_upstream(caf::actor_system& system, const std::string& name,
                                                       const config::endpoint& target, const proxy_options& options) {
  h2_target_spec spec{name, target, rpc::is_long_lived_stream};
  if (options.long_lived_stream)
    spec.long_lived = options.long_lived_stream;
  auto made = make_dialing_target(std::move(spec));
  if (auto* error = std::get_if<std::string>(&made))
    return *error;
  return spawn_target_upstream(system, name, std::get<0>(std::move(made)));
}

// The two directions of a TCP-mode connection: (server endpoint, target endpoint, label).
struct direction {
  const config::endpoint* serve;
  const config::endpoint* target;
  const char* label;
};

// How a mux session is tuned: per-stream windows larger than yamux's 256 KiB default keep
// large messages moving at a round trip's cost; keepalive as hashicorp/yamux.
yamux::config mux_tuning() {
  yamux::config tuning;
  tuning.max_stream_window = 4 * 1024 * 1024;
  return tuning;
}

// A mux-mode cluster connection: the outbound listener on local.tcpServer leases the channels
// of the mux sessions; the streams the peer opens are served by a port-less inbound listener
// that forwards to local.tcpClient.
struct mux_parts {
  std::vector<supervised_listener>& listeners;
  std::vector<upstream_actor>& upstreams;
  std::vector<mux_report>& mux;
};

std::string start_mux(caf::actor_system& system, const config::cluster_connection& connection,
                      const proxy_options& options, translation_setup& translation, mux_parts parts) {
  const auto& remote = connection.remote;
  const auto& local = connection.local;
  std::string problems;
  bool client = remote.type == config::connection_type::mux_client;
  const auto& mux_address = *remote.mux_address;
  auto label = connection.name + " mux";

  tls::context_ptr tls_context;
  if (mux_address.tls.enabled()) {
    auto made = client ? tls::client_context(mux_address.tls) : tls::server_context(mux_address.tls);
    if (auto* error = std::get_if<std::string>(&made))
      return label + ": " + *error + "\n";
    tls_context = std::get<tls::context_ptr>(made);
    if (client && mux_address.tls.skip_ca_verification)
      log::warn(label, "skipCAVerification is set: the server's certificate is not verified");
  }

  auto outbound_name = connection.name + " outbound";
  auto inbound_name = connection.name + " inbound";
  auto outbound = spawn_mux_upstream(system, mux_address.addr.to_string());
  auto frontend = tcp_upstream(system, inbound_name, *local.tcp_client, options);
  if (auto* error = std::get_if<std::string>(&frontend)) {
    caf::anon_send_exit(outbound, caf::exit_reason::user_shutdown);
    return inbound_name + ": " + *error + "\n";
  }
  auto local_frontend = std::get<upstream_actor>(frontend);
  parts.upstreams.push_back(local_frontend);

  listener_spec inbound_spec{inbound_name, *local.tcp_client, local_frontend,
                             translation.filter(connection, translation::side::inbound, options.filter),
                             observer_of(options, inbound_name)};
  auto inbound = start_portless_listener(system, inbound_spec);
  if (auto* error = std::get_if<std::string>(&inbound)) {
    caf::anon_send_exit(outbound, caf::exit_reason::user_shutdown);
    return *error + "\n";
  }
  auto inbound_listener = std::get<started_listener>(inbound).actor;

  mux_connection_spec spec;
  spec.name = connection.name;
  spec.client = client;
  spec.mux_address = mux_address;
  spec.mux_count = remote.mux_count;
  spec.tls_context = tls_context;
  spec.yamux = mux_tuning();
  if (remote.admission) {
    const auto& chosen = *remote.admission;
    spec.admission.hello_timeout = std::chrono::milliseconds(chosen.client_hello_timeout_ms);
    spec.admission.handshake_timeout = std::chrono::milliseconds(chosen.handshake_timeout_ms);
    spec.admission.max_waiting = static_cast<std::size_t>(chosen.max_waiting);
    spec.admission.max_waiting_per_source = static_cast<std::size_t>(chosen.max_waiting_per_source);
    spec.admission.max_handshakes = static_cast<std::size_t>(chosen.max_handshakes);
  }
  spec.outbound = outbound;
  spec.inbound = inbound_listener;
  auto started = start_mux_connection(system, std::move(spec));
  if (auto* error = std::get_if<std::string>(&started)) {
    caf::anon_send(inbound_listener, stop_atom::value, std::chrono::milliseconds(0));
    caf::anon_send_exit(outbound, caf::exit_reason::user_shutdown);
    return *error + "\n";
  }
  auto& mux = std::get<started_mux_connection>(started);
  parts.mux.push_back({label, mux_address.addr.to_string(), mux.port, mux.actor, outbound});
  parts.listeners.push_back({inbound_spec, {inbound_name, "", 0, inbound_listener}, mux.actor, std::nullopt});

  listener_spec outbound_spec{outbound_name, *local.tcp_server, outbound,
                              translation.filter(connection, translation::side::outbound, options.filter),
                              observer_of(options, outbound_name)};
  auto listening = start_listener(system, outbound_spec);
  if (auto* error = std::get_if<std::string>(&listening))
    return *error + "\n";
  auto& ok = std::get<started_listener>(listening);
  parts.listeners.push_back({outbound_spec,
                             {outbound_name, local.tcp_server->addr.to_string(), ok.port, ok.actor},
                             std::nullopt,
                             std::nullopt});
  return problems;
}

}  // namespace

std::variant<started_proxy, std::string> start_proxy(caf::actor_system& system, const config::config& config,
                                                     proxy_options options) {
  std::vector<supervised_listener> listeners;
  std::vector<upstream_actor> upstreams;
  std::vector<mux_report> mux;
  std::string problems;
  // Each listener runs the translator of its side after options.filter.
  auto translation = std::make_shared<translation_setup>(config, options.observe_translation);
  auto undo = [&] {
    for (auto& child : listeners)
      caf::anon_send(child.report.listener, stop_atom::value, std::chrono::milliseconds(0));
    for (auto& upstream : upstreams)
      caf::anon_send_exit(upstream, caf::exit_reason::user_shutdown);
    for (auto& part : mux) {
      caf::anon_send(part.connection, stop_atom::value, std::chrono::milliseconds(0));
      caf::anon_send_exit(part.outbound, caf::exit_reason::user_shutdown);
    }
  };

  for (const auto& connection : config.cluster_connections) {
    if (connection.remote.type != config::connection_type::tcp) {
      problems += start_mux(system, connection, options, *translation, {listeners, upstreams, mux});
      continue;
    }
    direction directions[] = {
        {&*connection.local.tcp_server, &*connection.remote.tcp_client, "outbound"},
        {&*connection.remote.tcp_server, &*connection.local.tcp_client, "inbound"},
    };
    for (const auto& way : directions) {
      auto name = connection.name + " " + way.label;
      auto made = tcp_upstream(system, name, *way.target, options);
      if (auto* error = std::get_if<std::string>(&made)) {
        problems += name + ": " + *error + "\n";
        continue;
      }
      auto upstream = std::get<upstream_actor>(made);
      upstreams.push_back(upstream);
      auto arrived_on = &way == &directions[0] ? translation::side::outbound : translation::side::inbound;
      listener_spec spec{name, *way.serve, upstream, translation->filter(connection, arrived_on, options.filter),
                         observer_of(options, name)};
      auto started = start_listener(system, spec);
      if (auto* error = std::get_if<std::string>(&started)) {
        problems += *error + "\n";
        continue;
      }
      auto& ok = std::get<started_listener>(started);
      listeners.push_back({spec, {name, way.serve->addr.to_string(), ok.port, ok.actor}, std::nullopt, std::nullopt});
    }
  }
  if (!problems.empty()) {
    undo();
    problems.pop_back();
    return problems;
  }
  started_proxy result;
  for (const auto& child : listeners)
    result.report.endpoints.push_back(child.report);
  result.report.mux = mux;
  result.supervisor = system.spawn(supervisor_behavior, std::move(listeners), std::move(upstreams), std::move(mux),
                                   options.listener_restarts);
  // The schema actors end with the supervisor.
  translation->start(system, result.supervisor.address());
  result.translation = std::move(translation);
  return result;
}

}  // namespace s2s::actors
