// The membership actor: timers, connections and messages around the pure group table.
#include "actors/membership.hpp"
#include "actors/runtime/census.hpp"

#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <utility>

#include "log/log.hpp"

namespace s2s::actors {

namespace {

enum class join_phase { waiting, connecting, greeting, joined, self };

std::string_view to_string(join_phase phase) {
  switch (phase) {
    case join_phase::waiting:
      return "waiting";
    case join_phase::connecting:
      return "connecting";
    case join_phase::greeting:
      return "greeting";
    case join_phase::joined:
      return "joined";
    case join_phase::self:
      return "self";
  }
  return "unknown";
}

struct join_target {
  config::address address;
  join_phase phase = join_phase::waiting;
  cluster::time_point retry_at{};
  int failures = 0;
  std::string last_error;
  caf::actor_addr peer;  // set while joined
  // Counts attempts, so that the reply to an attempt given up on (timed out) cannot touch a newer one.
  std::uint64_t attempt = 0;
};

// An accepted peer reachable through a handle: where heartbeats go and whose loss the table hears of.
struct peer_link {
  membership_peer_actor handle;
  std::string node_name;
  std::uint64_t incarnation = 0;
  std::string member_address;  // where it listens for peers, as its hello said
};

struct membership_state {
  std::optional<cluster::membership> table;
  membership_settings settings;
  caf::io::middleman_actor transport;
  std::vector<join_target> joins;
  std::map<caf::actor_addr, peer_link> links;
  std::uint16_t port = 0;
  cluster::time_point next_heartbeat{};
  std::optional<cluster::time_point> wake_at;
  std::uint32_t sessions = 0;                      // this instance's, as the upstream last said
  bool leaving = false;                            // told leave_atom: this instance is stopping
  std::vector<cluster::member_identity> carriers;  // as last told to the upstream
  std::optional<group_members> told_hubs;          // the live members as last told to the hubs
  std::uint64_t told_attachments = 0;              // the hubs attached when they were told

  static inline const char* name = "membership";
  census::mark counted{census::kind::membership};
};

using membership_pointer = membership_actor::stateful_pointer<membership_state>;

member_hello hello_of(const membership_state& state) {
  const auto& identity = state.table->self();
  auto address =
      state.port == 0 ? std::string() : config::address{state.settings.plan.bind.host, state.port}.to_string();
  return {identity.node_name, identity.incarnation, identity.proxy_address, std::move(address)};
}

cluster::member_identity to_identity(const member_hello& hello) {
  return {hello.node_name, hello.incarnation, hello.proxy_address};
}

caf::error group_refusal(std::string reason) {
  return caf::error(1, group_error_category, caf::make_message(std::move(reason)));
}

// A refusal's own text, or CAF's rendering of any other error.
std::string describe(caf::actor_system& system, const caf::error& error) {
  if (error.category() == group_error_category && error.context().match_elements<std::string>())
    return error.context().get_as<std::string>(0);
  return system.render(error);
}

cluster::time_point now_of(membership_pointer self) { return self->clock().now(); }

void log_line(membership_pointer self, log::level at, const std::string& message) {
  log::write(at, self->state.settings.log_component, message);
}

void log_changes(membership_pointer self, const std::vector<cluster::state_change>& changes) {
  for (const auto& change : changes) {
    auto at = change.to == cluster::member_state::alive ? log::level::info : log::level::warn;
    log_line(self, at,
             "peer '" + change.node_name + "' is " + std::string(cluster::to_string(change.to)) + " (was " +
                 std::string(cluster::to_string(change.from)) + "; failure bound " +
                 std::to_string(self->state.table->timing().detection_bound().count()) + " ms)");
  }
}

// Asks for one wake-up at the earliest due heartbeat, join attempt or table deadline, unless one at
// that time or earlier is pending already.
void schedule_wake(membership_pointer self) {
  auto& state = self->state;
  auto due = state.next_heartbeat;
  for (const auto& join : state.joins)
    if (join.phase == join_phase::waiting)
      due = std::min(due, join.retry_at);
  if (auto deadline = state.table->next_deadline())
    due = std::min(due, *deadline);
  auto now = now_of(self);
  if (state.wake_at && *state.wake_at > now && *state.wake_at <= due)
    return;
  state.wake_at = due;
  auto delay = std::max(due - now, cluster::time_point::duration::zero());
  self->delayed_send(self, delay, group_wake_atom::value);
}

void link_peer(membership_pointer self, const membership_peer_actor& handle, const member_hello& hello) {
  auto address = handle.address();
  auto& links = self->state.links;
  auto known = links.find(address);
  if (known == links.end()) {
    self->monitor(handle);
    links.emplace(address, peer_link{handle, hello.node_name, hello.incarnation, hello.member_address});
    return;
  }
  known->second.node_name = hello.node_name;
  known->second.incarnation = hello.incarnation;
  known->second.member_address = hello.member_address;
}

void log_hello(membership_pointer self, const cluster::hello_result& result, const member_hello& hello,
               const std::string& via) {
  log_line(self, log::level::info,
           "peer '" + hello.node_name + "' (incarnation " + std::to_string(hello.incarnation) + ", proxy address '" +
               hello.proxy_address + "') " + std::string(cluster::to_string(result.outcome)) + " " + via);
  if (!result.message.empty())
    log_line(self, log::level::warn, result.message);
}

void start_join(membership_pointer self, std::size_t index);
void publish_members(membership_pointer self);

void join_failed(membership_pointer self, std::size_t index, std::string reason) {
  auto& state = self->state;
  auto& join = state.joins[index];
  join.phase = join_phase::waiting;
  join.peer = {};
  ++join.failures;
  join.last_error = std::move(reason);
  auto delay = state.settings.join_retry_initial;
  for (int i = 1; i < join.failures && delay < state.settings.join_retry_max; ++i)
    delay *= 2;
  delay = std::min(delay, state.settings.join_retry_max);
  join.retry_at = now_of(self) + delay;
  log_line(self, log::level::warn,
           "cannot join the peer at memberlist.joinAddrs entry " + join.address.to_string() + ": " + join.last_error +
               "; next attempt in " + std::to_string(delay.count()) + " ms");
  schedule_wake(self);
}

void greet(membership_pointer self, std::size_t index, std::uint64_t attempt, membership_peer_actor peer) {
  auto& state = self->state;
  state.joins[index].phase = join_phase::greeting;
  self->request(peer, state.settings.request_timeout, hello_of(state))
      .then(
          [=](member_hello& reply) {
            auto& state = self->state;
            auto& join = state.joins[index];
            if (join.attempt != attempt)
              return;
            auto via = "(joined at " + join.address.to_string() + ")";
            auto result = state.table->on_hello(to_identity(reply), now_of(self));
            if (!result.accepted()) {
              log_line(self, log::level::error, result.message);
              join_failed(self, index, result.message);
              return;
            }
            log_hello(self, result, reply, via);
            link_peer(self, peer, reply);
            publish_members(self);
            join.phase = join_phase::joined;
            join.peer = peer.address();
            join.failures = 0;
            join.last_error.clear();
            schedule_wake(self);
          },
          [=](caf::error& error) {
            auto& state = self->state;
            if (state.joins[index].attempt != attempt)
              return;
            auto reason = describe(self->system(), error);
            if (error.category() == group_error_category) {
              auto refusal = "the peer at " + state.joins[index].address.to_string() +
                             " refused this instance's hello, saying: " + reason;
              log_line(self, log::level::error, refusal);
              state.table->note(now_of(self), refusal);
            }
            join_failed(self, index, "hello: " + reason);
          });
}

// Marks a joinAddrs entry joined through a link that exists already.
void joined_through(join_target& join, const caf::actor_addr& peer) {
  join.phase = join_phase::joined;
  join.peer = peer;
  join.failures = 0;
  join.last_error.clear();
}

void start_join(membership_pointer self, std::size_t index) {
  auto& state = self->state;
  auto& join = state.joins[index];
  // The peer listening there joined this instance already. A second connection between two nodes is one too
  // many for CAF's middleman, which then drops the proxies of the first: it is not dialled.
  auto address = join.address.to_string();
  for (const auto& [handle, link] : state.links)
    if (!link.member_address.empty() && link.member_address == address)
      return joined_through(join, handle);
  join.phase = join_phase::connecting;
  auto attempt = ++join.attempt;
  self->request(state.transport, state.settings.request_timeout, caf::connect_atom::value, join.address.host,
                join.address.port)
      .then(
          [=](caf::node_id&, caf::strong_actor_ptr& peer, std::set<std::string>& interface) {
            auto& state = self->state;
            auto& join = state.joins[index];
            if (join.attempt != attempt)
              return;
            if (!peer) {
              join_failed(self, index, "nothing is published at that address");
              return;
            }
            if (peer == self->ctrl()) {
              join.phase = join_phase::self;
              join.failures = 0;
              join.last_error.clear();
              log_line(self, log::level::info,
                       "memberlist.joinAddrs entry " + join.address.to_string() + " is this instance: not dialled");
              return;
            }
            if (!self->system().assignable<membership_peer_actor>(interface)) {
              join_failed(self, index, "the actor published there is not a s2s-proxy group member");
              return;
            }
            // The peer joined this instance meanwhile: the pair is linked, and a second hello is not needed.
            auto linked = state.links.find(caf::actor_cast<caf::actor_addr>(peer));
            if (linked != state.links.end())
              return joined_through(join, linked->first);
            greet(self, index, attempt, caf::actor_cast<membership_peer_actor>(peer));
          },
          [=](caf::error& error) {
            if (self->state.joins[index].attempt != attempt)
              return;
            auto reason = "connect: " + describe(self->system(), error);
            if (error == caf::sec::disconnect_during_handshake)
              reason +=
                  " (a TLS handshake that either side refused ends this way: both certificates must chain to "
                  "the group's CA bundle)";
            join_failed(self, index, std::move(reason));
          });
}

// Tells the routing hubs which instances are live (connected and not dead), when that changed or a hub is new.
void publish_members(membership_pointer self) {
  auto& state = self->state;
  const auto& hubs = state.settings.hubs;
  if (!hubs)
    return;
  group_members live;
  live.alive.emplace_back(state.table->self().node_name, state.table->self().incarnation);
  for (const auto& [name, member] : state.table->members())
    if (member.state != cluster::member_state::dead && member.connected)
      live.alive.emplace_back(name, member.identity.incarnation);
  std::sort(live.alive.begin(), live.alive.end());
  auto attachments = hubs->hub_attachments();
  if (state.told_hubs == live && state.told_attachments == attachments)
    return;
  state.told_attachments = attachments;
  state.told_hubs = live;
  for (std::int32_t side = 0; side < 2; ++side)
    if (auto hub = hubs->hub(side))
      caf::anon_send(hub, live);
}

// Tells the upstream which peers can carry this instance's calls, and the hubs who is live, when that changed.
void publish_carriers(membership_pointer self, bool always = false) {
  auto& state = self->state;
  publish_members(self);
  if (!state.settings.upstream)
    return;
  auto carriers = state.table->carriers();
  if (!always && carriers == state.carriers)
    return;
  mux_carriers told;
  for (const auto& peer : carriers)
    told.peers.push_back({peer.node_name, peer.proxy_address});
  state.carriers = std::move(carriers);
  self->send(*state.settings.upstream, std::move(told));
}

// Asks the upstream how many sessions this instance has, for the next heartbeats.
void count_sessions(membership_pointer self) {
  auto& state = self->state;
  if (!state.settings.upstream)
    return;
  self->request(*state.settings.upstream, state.table->timing().probe_interval, channels_atom::value)
      .then([self](std::size_t channels) { self->state.sessions = static_cast<std::uint32_t>(channels); },
            [self](caf::error&) { self->state.sessions = 0; });
}

void send_heartbeats(membership_pointer self) {
  auto& state = self->state;
  member_heartbeat beat{state.table->self().node_name, state.table->self().incarnation, state.sessions};
  for (const auto& [address, link] : state.links)
    self->send(link.handle, beat);
}

void wake(membership_pointer self) {
  auto& state = self->state;
  auto now = now_of(self);
  if (state.wake_at && *state.wake_at <= now)
    state.wake_at.reset();
  if (now >= state.next_heartbeat) {
    if (!state.leaving) {
      send_heartbeats(self);
      count_sessions(self);
    }
    state.next_heartbeat = now + state.table->timing().probe_interval;
  }
  // Joins wait until this instance listens: its hellos then say where, which keeps its peers from dialling back.
  for (std::size_t i = 0; i < state.joins.size(); ++i)
    if (!state.leaving && state.port != 0 && state.joins[i].phase == join_phase::waiting &&
        state.joins[i].retry_at <= now)
      start_join(self, i);
  log_changes(self, state.table->advance(now));
  publish_carriers(self);
  schedule_wake(self);
}

void on_down(membership_pointer self, const caf::down_msg& down) {
  auto& state = self->state;
  auto known = state.links.find(down.source);
  if (known == state.links.end())
    return;
  auto link = std::move(known->second);
  state.links.erase(known);
  auto now = now_of(self);
  log_line(self, log::level::warn,
           "the connection to peer '" + link.node_name + "' is gone: " + self->system().render(down.reason));
  if (auto change = state.table->on_connection_lost(link.node_name, link.incarnation, now))
    log_changes(self, {*change});
  publish_carriers(self);
  // Two instances that lost each other dial again after delays of their own, so that they do not dial each other at
  // the same moment (two connections at once: CAF keeps neither).
  auto retry = state.settings.join_retry_initial + state.settings.join_retry_initial *
                                                       (std::hash<std::string>{}(state.table->self().node_name) % 100) /
                                                       100;
  for (auto& join : state.joins) {
    if (join.peer != down.source)
      continue;
    join.phase = join_phase::waiting;
    join.peer = {};
    join.retry_at = now + retry;
  }
  schedule_wake(self);
}

member_view view_of(membership_pointer self) {
  auto& state = self->state;
  auto now = now_of(self);
  log_changes(self, state.table->advance(now));
  member_view view;
  view.self = state.table->self();
  view.port = state.port;
  view.at = now;
  view.detection_bound = state.table->timing().detection_bound();
  view.sessions = state.sessions;
  for (const auto& [name, member] : state.table->members())
    view.members.push_back(member);
  for (const auto& peer : state.table->carriers())
    view.carriers.push_back(peer.node_name);
  for (const auto& join : state.joins)
    view.joins.push_back(
        {join.address.to_string(), std::string(to_string(join.phase)), join.failures, join.last_error});
  for (const auto& notice : state.table->notices())
    view.notices.push_back(notice.message);
  return view;
}

membership_actor::behavior_type membership_behavior(membership_pointer self, membership_settings settings,
                                                    caf::io::middleman_actor transport) {
  auto& state = self->state;
  state.table.emplace(settings.plan.self, settings.plan.timing, settings.plan.proxy_addresses);
  for (const auto& address : settings.plan.join) {
    join_target join;
    join.address = address;
    state.joins.push_back(std::move(join));
  }
  state.settings = std::move(settings);
  state.transport = std::move(transport);
  auto now = now_of(self);
  state.next_heartbeat = now + state.table->timing().probe_interval;
  for (auto& join : state.joins)
    join.retry_at = now;
  self->set_down_handler([=](caf::down_msg& down) { on_down(self, down); });
  if (state.settings.hubs)
    state.settings.hubs->attach_member(caf::actor_cast<caf::actor>(self));
  const auto& bind = state.settings.plan.bind;
  self->request(state.transport, caf::infinite, caf::publish_atom::value, bind.port,
                caf::actor_cast<caf::strong_actor_ptr>(self), self->system().message_types<membership_peer_actor>(),
                bind.host, true)
      .then(
          [=](std::uint16_t port) {
            self->state.port = port;
            schedule_wake(self);
            log_line(self, log::level::info,
                     "member '" + self->state.table->self().node_name + "' listening for its peers on " +
                         config::address{self->state.settings.plan.bind.host, port}.to_string());
          },
          [=](caf::error& error) {
            auto reason = "cannot listen for peers on memberlist " + self->state.settings.plan.bind.to_string() +
                          " (bindAddr:bindPort): " + describe(self->system(), error);
            log_line(self, log::level::error, reason);
            self->quit(caf::make_error(caf::sec::runtime_error, reason));
          });
  count_sessions(self);
  schedule_wake(self);
  return {
      [=](member_hello& hello) -> caf::result<member_hello> {
        auto& state = self->state;
        if (state.leaving)
          return group_refusal("instance '" + state.table->self().node_name + "' is stopping and has left the group");
        auto result = state.table->on_hello(to_identity(hello), now_of(self));
        if (!result.accepted()) {
          log_line(self, log::level::error, result.message);
          return group_refusal(result.message);
        }
        log_hello(self, result, hello, "(it joined this instance)");
        if (auto sender = self->current_sender())
          link_peer(self, caf::actor_cast<membership_peer_actor>(sender), hello);
        publish_members(self);
        schedule_wake(self);
        return hello_of(state);
      },
      [=](member_leave& leave) {
        auto& state = self->state;
        if (auto change = state.table->on_leave(leave.node_name, leave.incarnation, now_of(self))) {
          log_line(self, log::level::info, "peer '" + leave.node_name + "' left the group (it is stopping)");
          log_changes(self, {*change});
        }
        publish_carriers(self);
        schedule_wake(self);
      },
      [=](leave_atom) {
        auto& state = self->state;
        if (state.leaving)
          return;
        state.leaving = true;
        state.sessions = 0;
        member_leave leave{state.table->self().node_name, state.table->self().incarnation};
        for (const auto& [address, link] : state.links)
          self->send(link.handle, leave);
        log_line(self, log::level::info,
                 "leaving the group: told " + std::to_string(state.links.size()) + " peer(s) this instance stops");
      },
      [=](member_heartbeat& beat) {
        auto& table = *self->state.table;
        // An accepted heartbeat has an entry to refresh; a peer that was not alive is worth a line.
        const auto* before = table.find(beat.node_name);
        auto previous = before ? before->state : cluster::member_state::alive;
        if (table.on_heartbeat(beat.node_name, beat.incarnation, now_of(self), beat.sessions) !=
            cluster::heartbeat_outcome::accepted)
          return;
        if (previous != cluster::member_state::alive)
          log_changes(self, {{beat.node_name, previous, cluster::member_state::alive}});
        publish_carriers(self);
        schedule_wake(self);
      },
      // A routing hub's note from a peer: the connection it came on says whose it is.
      [=](hub_note& note) {
        auto& state = self->state;
        auto link = state.links.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
        if (link == state.links.end() || !state.settings.hubs)
          return;
        note.from = link->second.node_name;
        note.incarnation = link->second.incarnation;
        if (auto hub = state.settings.hubs->hub(note.side))
          caf::anon_send(hub, std::move(note));
      },
      // This instance's hub's note: to the peer it names, or to every peer.
      [=](relay_atom, hub_note& note) {
        auto& state = self->state;
        for (const auto& [address, link] : state.links)
          if (note.to.empty() || note.to == link.node_name)
            self->send(link.handle, note);
      },
      [=](members_atom) { return view_of(self); },
      [=](group_wake_atom) { wake(self); },
      [=](upstream_atom, mux_upstream_actor& upstream) {
        self->state.settings.upstream = std::move(upstream);
        count_sessions(self);
        publish_carriers(self, true);
      },
  };
}

}  // namespace

membership_settings membership_settings_from(cluster::group_plan plan) {
  membership_settings settings;
  settings.join_retry_initial = plan.timing.probe_interval;
  settings.plan = std::move(plan);
  return settings;
}

membership_actor spawn_membership(caf::actor_system& system, membership_settings settings,
                                  caf::io::middleman_actor transport) {
  return system.spawn(membership_behavior, std::move(settings), std::move(transport));
}

void add_membership_types(caf::actor_system_config& config) {
  config.add_message_type<member_hello>("s2s.member_hello");
  config.add_message_type<member_heartbeat>("s2s.member_heartbeat");
  config.add_message_type<member_leave>("s2s.member_leave");
  config.add_message_type<hub_note>("s2s.hub_note");
}

std::vector<std::string> configure_group_tls(caf::actor_system_config& config, const group_tls& tls) {
  std::vector<std::string> problems;
  auto check = [&](const std::string& path, const char* what) {
    if (path.empty()) {
      problems.push_back(std::string("the group's ") + what +
                         " is not set: the instances of a side talk only over mutual TLS");
      return;
    }
    std::ifstream file(path);
    if (!file)
      problems.push_back(std::string("the group's ") + what + " '" + path + "' cannot be read");
  };
  check(tls.certificate_path, "certificate");
  check(tls.key_path, "private key");
  check(tls.ca_path, "CA bundle");
  if (!problems.empty())
    return problems;
  config.load<caf::io::middleman>();
  config.load<caf::openssl::manager>();
  config.openssl_certificate = tls.certificate_path;
  config.openssl_key = tls.key_path;
  config.openssl_cafile = tls.ca_path;
  add_membership_types(config);
  return problems;
}

}  // namespace s2s::actors
