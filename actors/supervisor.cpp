// The supervisor actor: builds upstreams and listeners from the config and keeps them alive.
#include "actors/supervisor.hpp"

#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/upstream.hpp"
#include "rpc/credentials.hpp"

namespace s2s::actors {
namespace {

constexpr std::chrono::milliseconds first_restart_delay{500};
constexpr std::chrono::milliseconds max_restart_delay{30000};

struct supervised_listener {
  listener_spec spec;
  endpoint_report report;
  std::chrono::milliseconds next_delay = first_restart_delay;
};

struct supervisor_state {
  static inline const char* name = "supervisor";
  std::vector<supervised_listener> listeners;
  std::vector<upstream_actor> upstreams;
  std::uint64_t restarts = 0;
  bool stopping = false;
};

proxy_report make_report(const supervisor_state& st) {
  proxy_report report;
  for (const auto& child : st.listeners)
    report.endpoints.push_back(child.report);
  report.listener_restarts = st.restarts;
  return report;
}

supervisor_actor::behavior_type supervisor_behavior(
    supervisor_actor::stateful_pointer<supervisor_state> self,
    std::vector<supervised_listener> listeners, std::vector<upstream_actor> upstreams) {
  auto& st = self->state;
  st.listeners = std::move(listeners);
  st.upstreams = std::move(upstreams);
  for (auto& child : st.listeners)
    self->monitor(child.report.listener);
  self->set_down_handler([self](caf::down_msg& down) {
    auto& st = self->state;
    if (st.stopping)
      return;
    for (std::size_t index = 0; index < st.listeners.size(); ++index) {
      auto& child = st.listeners[index];
      if (child.report.listener.address() != down.source)
        continue;
      self->delayed_send(self, child.next_delay, restart_atom::value, index);
    }
  });
  return {
      [self](restart_atom, std::size_t index) {
        auto& st = self->state;
        if (st.stopping || index >= st.listeners.size())
          return;
        auto& child = st.listeners[index];
        ++st.restarts;
        auto started = start_listener(self->system(), child.spec);
        if (auto* ok = std::get_if<started_listener>(&started)) {
          child.report.listener = ok->actor;
          child.report.port = ok->port;
          child.next_delay = first_restart_delay;
          self->monitor(ok->actor);
        } else {
          // The port may still be held; try again later, backing off.
          self->delayed_send(self, child.next_delay, restart_atom::value, index);
          child.next_delay = std::min(child.next_delay * 2, max_restart_delay);
        }
      },
      [self](stats_atom) { return make_report(self->state); },
      [self](stop_atom, std::chrono::milliseconds drain) -> caf::result<bool> {
        auto& st = self->state;
        st.stopping = true;
        auto promise = self->make_response_promise<bool>();
        auto pending = std::make_shared<std::size_t>(st.listeners.size());
        auto finish = [self, promise]() mutable {
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
          self->request(child.report.listener, drain + std::chrono::seconds(5), stop_atom::value,
                        drain)
              .then([pending, finish](bool) mutable {
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

// The two directions of a TCP-mode connection: (server endpoint, target endpoint, label).
struct direction {
  const config::endpoint* serve;
  const config::endpoint* target;
  const char* label;
};

}  // namespace

std::variant<started_proxy, std::string> start_proxy(caf::actor_system& system,
                                                     const config::config& config,
                                                     proxy_options options) {
  std::vector<supervised_listener> listeners;
  std::vector<upstream_actor> upstreams;
  std::string problems;
  auto undo = [&] {
    for (auto& child : listeners)
      caf::anon_send(child.report.listener, stop_atom::value, std::chrono::milliseconds(0));
    for (auto& upstream : upstreams)
      caf::anon_send_exit(upstream, caf::exit_reason::user_shutdown);
  };

  for (const auto& connection : config.cluster_connections) {
    if (connection.local.type != config::connection_type::tcp ||
        connection.remote.type != config::connection_type::tcp) {
      problems += "cluster connection '" + connection.name +
                  "': mux connection types are not served by this build yet\n";
      continue;
    }
    direction directions[] = {
        {&*connection.local.tcp_server, &*connection.remote.tcp_client, "outbound"},
        {&*connection.remote.tcp_server, &*connection.local.tcp_client, "inbound"},
    };
    for (const auto& way : directions) {
      auto name = connection.name + " " + way.label;
      auto channel = rpc::open_channel(*way.target);
      if (auto* error = std::get_if<std::string>(&channel)) {
        problems += name + ": " + *error + "\n";
        continue;
      }
      auto upstream = spawn_channel_upstream(system, name, std::get<0>(channel));
      upstreams.push_back(upstream);
      listener_spec spec{name, *way.serve, upstream, options.filter};
      auto started = start_listener(system, spec);
      if (auto* error = std::get_if<std::string>(&started)) {
        problems += *error + "\n";
        continue;
      }
      auto& ok = std::get<started_listener>(started);
      listeners.push_back({spec, {name, way.serve->addr.to_string(), ok.port, ok.actor}});
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
  result.supervisor = system.spawn(supervisor_behavior, std::move(listeners), std::move(upstreams));
  return result;
}

}  // namespace s2s::actors
