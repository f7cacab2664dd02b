// The supervisor actor: keeps the table of supervised children alive and stops it in order.
#include "actors/supervisor.hpp"
#include "actors/runtime/census.hpp"
#include "actors/runtime/mailbox.hpp"

#include <algorithm>
#include <random>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "log/log.hpp"

namespace s2s::actors {
namespace {

// Start the child at this index again: the supervisor sends it to itself after the backoff.
using restart_atom = caf::atom_constant<caf::atom("restart")>;

// supervisor_actor with the messages only the supervisor sends itself: what it is spawned as.
using private_actor = supervisor_actor::extend<caf::reacts_to<restart_atom, std::size_t>>;

struct kind_names {
  std::string_view label;  // the metrics'
  std::string_view words;  // the logs'
};

kind_names names_of(child_kind kind) {
  switch (kind) {
    case child_kind::listener:
      return {"listener", "listener"};
    case child_kind::upstream:
      return {"upstream", "upstream"};
    case child_kind::mux_connection:
      return {"mux_connection", "mux connection"};
    case child_kind::schema:
      return {"schema", "schema actor"};
    case child_kind::member:
      return {"member", "group member"};
  }
  return {"child", "child"};
}

struct supervised_child {
  child_spec spec;
  caf::strong_actor_ptr actor;  // the latest; kept while it is down, until it is replaced
  int port = 0;
  bool up = true;
  std::optional<restart_policy> restarts;  // set when the supervisor takes the child on
};

struct supervisor_state {
  static inline const char* name = "supervisor";
  census::mark counted{census::kind::supervisor};
  std::vector<supervised_child> children;
  bool stopping = false;
};

using supervisor_pointer = private_actor::stateful_pointer<supervisor_state>;

std::vector<caf::strong_actor_ptr> actors_of(const std::vector<supervised_child>& children) {
  std::vector<caf::strong_actor_ptr> actors;
  actors.reserve(children.size());
  for (const auto& child : children)
    actors.push_back(child.actor);
  return actors;
}

proxy_report make_report(const std::vector<supervised_child>& children) {
  proxy_report report;
  for (const auto& child : children) {
    const auto& spec = child.spec;
    child_report entry;
    entry.name = spec.name;
    entry.kind = spec.kind;
    entry.actor = caf::actor_cast<caf::actor_addr>(child.actor);
    entry.up = child.up;
    entry.serves = spec.serves;
    if (child.restarts) {
      entry.given_up = child.restarts->given_up();
      entry.restarts = child.restarts->restarts();
      entry.failures = child.restarts->failures();
    }
    if (spec.kind == child_kind::listener) {
      report.endpoints.push_back(
          {spec.name, spec.address, child.port, caf::actor_cast<listener_actor>(child.actor), entry.given_up});
      report.listener_restarts += entry.restarts;
      report.listener_failures += entry.failures;
    } else if (spec.kind == child_kind::mux_connection) {
      mux_report mux{spec.name, spec.address, child.port, caf::actor_cast<mux_connection_actor>(child.actor), {}};
      for (const auto& use : spec.uses)
        if (children[use.child].spec.kind == child_kind::upstream)
          mux.outbound = caf::actor_cast<mux_upstream_actor>(children[use.child].actor);
      report.mux.push_back(std::move(mux));
    } else if (spec.kind == child_kind::member) {
      // The member of a mux connection's group uses that connection's upstream.
      for (const auto& use : spec.uses)
        for (auto& mux : report.mux)
          if (mux.outbound && caf::actor_cast<caf::actor_addr>(mux.outbound) ==
                                  caf::actor_cast<caf::actor_addr>(children[use.child].actor))
            mux.member = caf::actor_cast<membership_actor>(child.actor);
    }
    report.children.push_back(std::move(entry));
  }
  return report;
}

std::vector<supervised_child> take_on(std::vector<child_spec> table, std::vector<started_child> started) {
  std::vector<supervised_child> children;
  children.reserve(table.size());
  for (std::size_t index = 0; index < table.size(); ++index)
    children.push_back({std::move(table[index]), std::move(started[index].actor), started[index].port, true, {}});
  return children;
}

// Ends a child as the supervisor's stop does, by its kind; a listener is asked to stop with no drain.
void end_child(const child_spec& spec, const caf::strong_actor_ptr& actor) {
  switch (spec.kind) {
    case child_kind::listener:
      caf::anon_send(caf::actor_cast<listener_actor>(actor), stop_atom::value, std::chrono::milliseconds(0));
      break;
    case child_kind::mux_connection:
      caf::anon_send(caf::actor_cast<mux_connection_actor>(actor), stop_atom::value, std::chrono::milliseconds(0));
      break;
    case child_kind::upstream:
    case child_kind::schema:
    case child_kind::member:
      caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
      break;
  }
}

// The child is watched from now on: its end is a down message, and it is told it was adopted.
void watch(supervisor_pointer self, supervised_child& child) {
  self->monitor(child.actor);
  if (child.spec.adopted)
    child.spec.adopted(child.actor, self->address());
}

// The child failed just now (went down, or could not be started again): schedules the next
// attempt, or leaves the child down once its failure budget is spent.
void child_failed(supervisor_pointer self, std::size_t index) {
  auto& child = self->state.children[index];
  if (auto delay = child.restarts->on_failure(self->clock().now())) {
    self->delayed_send(self, *delay, restart_atom::value, index);
    return;
  }
  log::error(child.spec.name, "the " + std::string(kind_words(child.spec.kind)) + " failed " +
                                  std::to_string(child.restarts->failures()) +
                                  " times and is not restarted again; the rest of the proxy keeps serving");
}

void restart(supervisor_pointer self, std::size_t index) {
  auto& st = self->state;
  auto& child = st.children[index];
  auto actors = actors_of(st.children);
  auto started = child.spec.start(self->system(), child_actors(actors));
  if (auto* problem = std::get_if<std::string>(&started)) {
    // A port may still be held, a file gone; try again later, backing off.
    log::warn(child.spec.name, "restarting the " + std::string(kind_words(child.spec.kind)) + " failed: " + *problem);
    child_failed(self, index);
    return;
  }
  auto& replacement = std::get<started_child>(started);
  child.actor = std::move(replacement.actor);
  child.port = replacement.port;
  child.up = true;
  child.restarts->on_restart(self->clock().now());
  watch(self, child);
  log::info(child.spec.name, "the " + std::string(kind_words(child.spec.kind)) + " was restarted");
  for (auto& user : st.children)
    for (const auto& use : user.spec.uses)
      if (use.child == index && use.learn)
        use.learn(user.actor, child.actor);
}

// Every listener is asked to stop and drain; once all have answered (or failed to), the mux
// connections are stopped, then the upstreams and schema actors end, and the supervisor with them.
caf::result<bool> stop_all(supervisor_pointer self, std::chrono::milliseconds drain) {
  auto& st = self->state;
  st.stopping = true;
  // Group members leave first, so their peers stop forwarding here while the listeners drain.
  for (const auto& child : st.children)
    if (child.spec.kind == child_kind::member && child.up)
      caf::anon_send(caf::actor_cast<membership_actor>(child.actor), leave_atom::value);
  auto promise = self->make_response_promise<bool>();
  auto finish = [self, promise]() mutable {
    // Sessions close after the listeners drained the calls that ran on them.
    for (auto kind : {child_kind::member, child_kind::mux_connection, child_kind::upstream, child_kind::schema})
      for (const auto& child : self->state.children)
        if (child.spec.kind == kind)
          end_child(child.spec, child.actor);
    promise.deliver(true);
    self->quit();
  };
  auto pending = std::make_shared<std::size_t>(0);
  for (const auto& child : st.children)
    if (child.spec.kind == child_kind::listener)
      ++*pending;
  if (*pending == 0) {
    finish();
    return promise;
  }
  for (const auto& child : st.children) {
    if (child.spec.kind != child_kind::listener)
      continue;
    auto answered = [pending, finish]() mutable {
      if (--*pending == 0)
        finish();
    };
    self->request(caf::actor_cast<listener_actor>(child.actor), drain + std::chrono::seconds(5), stop_atom::value,
                  drain)
        .then([answered](bool) mutable { answered(); }, [answered](caf::error&) mutable { answered(); });
  }
  return promise;
}

private_actor::behavior_type supervisor_behavior(supervisor_pointer self, std::vector<supervised_child> children) {
  auto& st = self->state;
  st.children = std::move(children);
  // One draw per delay, shared by every child: children that fail together come back apart.
  auto engine = std::make_shared<std::minstd_rand>(std::random_device{}());
  auto draw = [engine] { return std::uniform_real_distribution<double>(0, 1)(*engine); };
  for (auto& child : st.children) {
    child.restarts.emplace(child.spec.restarts, draw);
    watch(self, child);
  }
  self->set_down_handler([self](caf::down_msg& down) {
    auto& st = self->state;
    if (st.stopping)
      return;
    for (std::size_t index = 0; index < st.children.size(); ++index) {
      auto& child = st.children[index];
      if (!child.up || caf::actor_cast<caf::actor_addr>(child.actor) != down.source)
        continue;
      child.up = false;
      log::warn(child.spec.name,
                "the " + std::string(kind_words(child.spec.kind)) + " ended: " + self->system().render(down.reason));
      child_failed(self, index);
    }
  });
  return {
      [self](restart_atom, std::size_t index) {
        if (!self->state.stopping && index < self->state.children.size())
          restart(self, index);
      },
      [self](stats_atom) {
        auto report = make_report(self->state.children);
        report.mailbox_depth = messages_waiting(self);
        return report;
      },
      [](test_hang_atom) {
        log::warn("supervisor", "test hook: blocking this handler until the process is killed");
        for (;;)
          std::this_thread::sleep_for(std::chrono::hours(1));
      },
      [self](test_kill_atom, const std::string& which) {
        for (const auto& child : self->state.children) {
          if (!child.up || (child.spec.name != which && kind_label(child.spec.kind) != which))
            continue;
          log::warn(child.spec.name, "test hook: killing the " + std::string(kind_words(child.spec.kind)));
          self->send_exit(caf::actor_cast<caf::actor>(child.actor), caf::exit_reason::kill);
        }
      },
      [self](stop_atom, std::chrono::milliseconds drain) { return stop_all(self, drain); },
  };
}

}  // namespace

std::string_view kind_label(child_kind kind) { return names_of(kind).label; }

std::string_view kind_words(child_kind kind) { return names_of(kind).words; }

std::variant<std::vector<started_child>, std::string> start_children(caf::actor_system& system,
                                                                     const std::vector<child_spec>& table) {
  std::vector<started_child> started;
  std::vector<caf::strong_actor_ptr> actors;
  std::string problems;
  for (const auto& spec : table) {
    // A child that uses one that could not start is not started: the problem is that one's.
    bool wired = std::all_of(spec.uses.begin(), spec.uses.end(),
                             [&](const child_use& use) { return actors.at(use.child) != nullptr; });
    auto made = wired ? spec.start(system, child_actors(actors)) : started_child{};
    if (auto* problem = std::get_if<std::string>(&made)) {
      problems += *problem + "\n";
      made = started_child{};
    }
    actors.push_back(std::get<started_child>(made).actor);
    started.push_back(std::get<started_child>(std::move(made)));
  }
  if (problems.empty())
    return started;
  for (std::size_t index = table.size(); index-- > 0;)
    if (started[index].actor)
      end_child(table[index], started[index].actor);
  problems.pop_back();
  return problems;
}

supervisor_actor spawn_supervisor(caf::actor_system& system, std::vector<child_spec> table,
                                  std::vector<started_child> started) {
  return system.spawn(supervisor_behavior, take_on(std::move(table), std::move(started)));
}

proxy_report report_of(const std::vector<child_spec>& table, const std::vector<started_child>& started) {
  return make_report(take_on(table, started));
}

}  // namespace s2s::actors
