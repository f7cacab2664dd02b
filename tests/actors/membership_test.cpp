// The membership actor on CAF's deterministic scheduler: peers are scripted actors behind a scripted
// transport, and time moves only when the test moves it.
#define CAF_SUITE membership_actor

#include <caf/test/dsl.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "actors/membership.hpp"

using namespace s2s;
using namespace s2s::actors;
using namespace std::chrono_literals;

namespace {

struct group_system_config : caf::actor_system_config {
  group_system_config() { add_membership_types(*this); }
};

// What the scripted transport has published and been asked to connect to.
struct fake_network {
  std::map<std::string, caf::strong_actor_ptr> listening;  // "host:port" -> the actor published there
  std::set<std::string> interface;                         // the interface each listener reports
  std::vector<std::pair<std::string, std::uint16_t>> publishes;
  std::vector<std::pair<std::string, cluster::time_point>> connects;  // target and time, in order
  bool refuse_publish = false;
};

// Plays CAF's middleman actor: publish and connect answer from the fake network; nothing else is used.
caf::io::middleman_actor::behavior_type fake_transport(caf::io::middleman_actor::pointer self,
                                                       std::shared_ptr<fake_network> network) {
  auto unused = [] { return caf::make_error(caf::sec::feature_disabled); };
  return {
      [=](caf::publish_atom, std::uint16_t port, caf::strong_actor_ptr&, std::set<std::string>&, std::string& host,
          bool) -> caf::result<std::uint16_t> {
        if (network->refuse_publish)
          return caf::make_error(caf::sec::cannot_open_port, "address in use");
        network->publishes.emplace_back(host, port);
        return port;
      },
      [=](caf::open_atom, std::uint16_t, std::string&, bool) -> caf::result<std::uint16_t> { return unused(); },
      [=](caf::connect_atom, std::string& host,
          std::uint16_t port) -> caf::result<caf::node_id, caf::strong_actor_ptr, std::set<std::string>> {
        auto target = host + ":" + std::to_string(port);
        network->connects.emplace_back(target, self->clock().now());
        auto listener = network->listening.find(target);
        if (listener == network->listening.end())
          return caf::make_error(caf::sec::cannot_connect_to_node, "connection refused");
        return {listener->second->node(), listener->second, network->interface};
      },
      [=](caf::unpublish_atom, caf::actor_addr, std::uint16_t) {},
      [=](caf::close_atom, std::uint16_t) {},
      [=](caf::spawn_atom, caf::node_id&, std::string&, caf::message&,
          std::set<std::string>&) -> caf::result<caf::strong_actor_ptr> { return unused(); },
      [=](caf::get_atom, caf::node_id&) -> caf::result<caf::node_id, std::string, std::uint16_t> { return unused(); },
  };
}

// What a scripted peer received, and how it answers hellos.
struct peer_record {
  std::vector<member_hello> hellos;
  std::vector<member_heartbeat> heartbeats;
  std::vector<member_leave> leaves;
  std::vector<hub_note> notes;
  std::optional<std::string> refusal;  // answer every hello with this refusal
  bool beat_back = false;              // answer every heartbeat with one of its own, as a live peer does
};

membership_peer_actor::behavior_type scripted_peer(membership_peer_actor::pointer self, member_hello identity,
                                                   std::shared_ptr<peer_record> record) {
  return {
      [=](member_hello& hello) -> caf::result<member_hello> {
        record->hellos.push_back(hello);
        if (record->refusal)
          return caf::error(1, group_error_category, caf::make_message(*record->refusal));
        return identity;
      },
      [=](member_leave& leave) { record->leaves.push_back(leave); },
      [=](hub_note& note) { record->notes.push_back(note); },
      [=](member_heartbeat& beat) {
        record->heartbeats.push_back(beat);
        if (record->beat_back)
          self->send(caf::actor_cast<membership_peer_actor>(self->current_sender()),
                     member_heartbeat{identity.node_name, identity.incarnation});
      },
  };
}

const config::address self_address{"10.0.0.1", 7946};
const config::address peer_address{"10.0.0.2", 7946};

struct fixture : test_coordinator_fixture<group_system_config> {
  std::shared_ptr<fake_network> network = std::make_shared<fake_network>();
  caf::io::middleman_actor transport;
  membership_actor member;
  std::vector<caf::actor> peers;

  fixture() {
    network->interface = sys.message_types<membership_peer_actor>();
    transport = sys.spawn(fake_transport, network);
  }

  ~fixture() override {
    // The member's timers never run out: stop every actor before the base class runs what is left.
    if (member)
      anon_send_exit(member, caf::exit_reason::user_shutdown);
    for (auto& peer : peers)
      anon_send_exit(peer, caf::exit_reason::user_shutdown);
    anon_send_exit(transport, caf::exit_reason::user_shutdown);
    sched.run();
  }

  // I 1000 ms, T 200 ms, k 3: suspect after 1200 ms of silence or at a lost connection, dead 3000 ms later.
  membership_settings settings(std::vector<config::address> join) {
    cluster::group_plan plan;
    plan.self = {"a1", 100, "10.0.0.1:6233"};
    plan.timing = {1000ms, 200ms, 3};
    plan.bind = {"0.0.0.0", 7946};
    plan.join = std::move(join);
    auto settings = membership_settings_from(plan);
    settings.join_retry_max = 8000ms;
    return settings;
  }

  void start(std::vector<config::address> join = {peer_address}) {
    member = spawn_membership(sys, settings(std::move(join)), transport);
    pass(0ms);
  }

  std::shared_ptr<peer_record> listen_peer(const config::address& at, member_hello identity) {
    auto record = std::make_shared<peer_record>();
    auto peer = sys.spawn(scripted_peer, std::move(identity), record);
    peers.push_back(caf::actor_cast<caf::actor>(peer));
    network->listening[at.to_string()] = caf::actor_cast<caf::strong_actor_ptr>(peer);
    return record;
  }

  membership_peer_actor peer_at(const config::address& at) {
    return caf::actor_cast<membership_peer_actor>(network->listening.at(at.to_string()));
  }

  // The peer goes away: its actor ends (the member sees its connection drop) and nothing listens there.
  void vanish(const config::address& at) {
    auto peer = network->listening.at(at.to_string());
    network->listening.erase(at.to_string());
    anon_send_exit(peer, caf::exit_reason::kill);
    sched.run();
  }

  void beat_from(const config::address& at, member_heartbeat beat) {
    caf::send_as(peer_at(at), member, std::move(beat));
    sched.run();
  }

  cluster::time_point now() { return sched.clock().now(); }

  // Moves the clock forward by span, delivering every timer on the way at its own time.
  void pass(caf::timespan span) {
    auto& clock = sched.clock();
    auto target = clock.current_time + span;
    sched.run();
    while (!clock.schedule().empty() && clock.schedule().begin()->first <= target) {
      auto next = clock.schedule().begin()->first;
      clock.advance_time(next > clock.current_time ? next - clock.current_time : caf::timespan{0});
      sched.run();
    }
    if (target > clock.current_time)
      clock.advance_time(target - clock.current_time);
    sched.run();
  }

  member_view view() {
    member_view result;
    auto pending = self->request(member, caf::infinite, members_atom::value);
    sched.run();
    pending.receive([&](member_view& answer) { result = std::move(answer); },
                    [&](caf::error& error) { CAF_FAIL("members request failed: " << sys.render(error)); });
    return result;
  }

  const cluster::member* find(const member_view& from, const std::string& name) {
    for (const auto& entry : from.members)
      if (entry.identity.node_name == name)
        return &entry;
    return nullptr;
  }

  std::string state_of(const std::string& name) {
    auto now_seen = view();
    const auto* entry = find(now_seen, name);
    return entry ? std::string(cluster::to_string(entry->state)) : "absent";
  }

  static bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(membership_actor_tests, fixture)

CAF_TEST(it publishes itself and joins a configured peer with a hello each way) {
  auto record = listen_peer(peer_address, {"a2", 7, "10.0.0.2:6233"});
  start();
  CAF_REQUIRE_EQUAL(network->publishes.size(), 1u);
  CAF_CHECK_EQUAL(network->publishes[0].first, "0.0.0.0");
  CAF_CHECK_EQUAL(network->publishes[0].second, 7946u);
  CAF_REQUIRE_EQUAL(record->hellos.size(), 1u);
  CAF_CHECK_EQUAL(record->hellos[0].node_name, "a1");
  CAF_CHECK_EQUAL(record->hellos[0].incarnation, 100u);
  CAF_CHECK_EQUAL(record->hellos[0].proxy_address, "10.0.0.1:6233");

  auto seen = view();
  CAF_CHECK_EQUAL(seen.port, 7946u);
  CAF_CHECK_EQUAL(seen.self.node_name, "a1");
  CAF_CHECK(seen.detection_bound == 4200ms);
  CAF_REQUIRE_EQUAL(seen.members.size(), 1u);
  CAF_CHECK_EQUAL(seen.members[0].identity.node_name, "a2");
  CAF_CHECK_EQUAL(seen.members[0].identity.proxy_address, "10.0.0.2:6233");
  CAF_CHECK(seen.members[0].state == cluster::member_state::alive);
  CAF_REQUIRE_EQUAL(seen.joins.size(), 1u);
  CAF_CHECK_EQUAL(seen.joins[0].phase, "joined");
  CAF_CHECK_EQUAL(seen.joins[0].address, "10.0.0.2:7946");
}

CAF_TEST(it sends each joined peer a heartbeat every probe interval) {
  auto record = listen_peer(peer_address, {"a2", 7, ""});
  start();
  pass(999ms);
  CAF_CHECK_EQUAL(record->heartbeats.size(), 0u);
  pass(1ms);
  CAF_REQUIRE_EQUAL(record->heartbeats.size(), 1u);
  CAF_CHECK_EQUAL(record->heartbeats[0].node_name, "a1");
  CAF_CHECK_EQUAL(record->heartbeats[0].incarnation, 100u);
  pass(4000ms);
  CAF_CHECK_EQUAL(record->heartbeats.size(), 5u);
}

CAF_TEST(a peer whose heartbeats keep coming stays alive) {
  listen_peer(peer_address, {"a2", 7, ""});
  start();
  for (int beat = 0; beat < 10; ++beat) {
    pass(1000ms);
    beat_from(peer_address, {"a2", 7});
  }
  CAF_CHECK_EQUAL(state_of("a2"), "alive");
}

CAF_TEST(a peer that vanishes is suspect at once and dead k probe intervals later) {
  listen_peer(peer_address, {"a2", 7, ""});
  start();
  pass(500ms);
  beat_from(peer_address, {"a2", 7});
  vanish(peer_address);
  CAF_CHECK_EQUAL(state_of("a2"), "suspect");
  CAF_CHECK_EQUAL(find(view(), "a2")->connected, false);
  pass(2999ms);
  CAF_CHECK_EQUAL(state_of("a2"), "suspect");
  pass(1ms);
  CAF_CHECK_EQUAL(state_of("a2"), "dead");
  // Nothing listens at its address any more: the join is retried and fails.
  auto seen = view();
  CAF_CHECK_EQUAL(seen.joins[0].phase, "waiting");
  CAF_CHECK(seen.joins[0].failures >= 1);
  CAF_CHECK(contains(seen.joins[0].last_error, "connection refused"));
}

CAF_TEST(a hung peer whose connection stays up is suspect after interval and timeout and dead within the bound) {
  listen_peer(peer_address, {"a2", 7, ""});
  start();
  pass(1000ms);
  beat_from(peer_address, {"a2", 7});
  auto last_heard = now();
  pass(1199ms);
  CAF_CHECK_EQUAL(state_of("a2"), "alive");
  pass(1ms);
  CAF_CHECK_EQUAL(state_of("a2"), "suspect");
  pass(2999ms);
  CAF_CHECK_EQUAL(state_of("a2"), "suspect");
  pass(1ms);
  CAF_CHECK_EQUAL(state_of("a2"), "dead");
  CAF_CHECK(now() - last_heard == 4200ms);
  CAF_CHECK_EQUAL(find(view(), "a2")->connected, true);
  // A heartbeat from the same incarnation brings it back.
  beat_from(peer_address, {"a2", 7});
  CAF_CHECK_EQUAL(state_of("a2"), "alive");
}

CAF_TEST(a peer that comes back with the same name and a new incarnation is alive again) {
  listen_peer(peer_address, {"a2", 7, "10.0.0.2:6233"});
  start();
  vanish(peer_address);
  pass(3000ms);
  CAF_CHECK_EQUAL(state_of("a2"), "dead");

  auto restarted = listen_peer(peer_address, {"a2", 8, "10.0.0.2:6233"});
  restarted->beat_back = true;
  // Retries since the loss: 1 s after it, then 1, 2, 4 and 8 s (the cap) after each failure.
  pass(16000ms);
  CAF_REQUIRE_EQUAL(restarted->hellos.size(), 1u);
  auto seen = view();
  const auto* entry = find(seen, "a2");
  CAF_REQUIRE(entry != nullptr);
  CAF_CHECK(entry->state == cluster::member_state::alive);
  CAF_CHECK_EQUAL(entry->identity.incarnation, 8u);
  CAF_CHECK_EQUAL(entry->connected, true);
  CAF_CHECK_EQUAL(seen.joins[0].phase, "joined");
  CAF_CHECK_EQUAL(seen.joins[0].failures, 0);
  pass(1000ms);
  CAF_CHECK(!restarted->heartbeats.empty());
}

CAF_TEST(a peer that comes back with the same name and incarnation is alive again) {
  listen_peer(peer_address, {"a2", 7, ""});
  start();
  vanish(peer_address);
  pass(5000ms);
  CAF_CHECK_EQUAL(state_of("a2"), "dead");
  listen_peer(peer_address, {"a2", 7, ""})->beat_back = true;
  pass(16000ms);
  CAF_CHECK_EQUAL(state_of("a2"), "alive");
  CAF_CHECK_EQUAL(find(view(), "a2")->identity.incarnation, 7u);
}

CAF_TEST(an unreachable peer is retried with a doubling delay up to the cap) {
  start();
  pass(30000ms);
  std::vector<caf::timespan> gaps;
  for (std::size_t i = 1; i < network->connects.size(); ++i)
    gaps.push_back(network->connects[i].second - network->connects[i - 1].second);
  std::vector<caf::timespan> expected{1000ms, 2000ms, 4000ms, 8000ms, 8000ms};
  CAF_REQUIRE(gaps.size() >= expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i)
    CAF_CHECK(gaps[i] == expected[i]);
  auto seen = view();
  CAF_CHECK(seen.members.empty());
  CAF_CHECK_EQUAL(seen.joins[0].failures, static_cast<int>(network->connects.size()));
}

CAF_TEST(a peer answering with this instances own name is refused with a reason naming the key) {
  auto record = listen_peer(peer_address, {"a1", 5, "10.0.0.2:6233"});
  start();
  auto seen = view();
  CAF_CHECK(seen.members.empty());
  CAF_CHECK_EQUAL(seen.joins[0].phase, "waiting");
  CAF_CHECK(contains(seen.joins[0].last_error, "says its nodeName is 'a1', which is this instance's own nodeName"));
  CAF_REQUIRE_EQUAL(seen.notices.size(), 1u);
  CAF_CHECK(contains(seen.notices[0], "memberlist.nodeName"));
  CAF_CHECK(contains(seen.notices[0], "10.0.0.2:6233"));
}

CAF_TEST(a hello with this instances own name is answered with a refusal) {
  start({});
  std::optional<caf::error> refusal;
  auto pending = self->request(member, caf::infinite, member_hello{"a1", 5, "10.0.0.5:6233"});
  sched.run();
  pending.receive([&](member_hello&) { CAF_FAIL("a hello with the member's own name was accepted"); },
                  [&](caf::error& error) { refusal = error; });
  CAF_REQUIRE(refusal);
  CAF_CHECK(refusal->category() == group_error_category);
  CAF_REQUIRE(refusal->context().match_elements<std::string>());
  auto reason = refusal->context().get_as<std::string>(0);
  CAF_CHECK(contains(reason, "says its nodeName is 'a1', which is this instance's own nodeName"));
  CAF_CHECK(contains(reason, "10.0.0.5:6233"));
  CAF_CHECK(view().members.empty());
}

CAF_TEST(a peer that refuses this instances hello is a notice and is retried) {
  auto record = listen_peer(peer_address, {"a2", 7, ""});
  record->refusal = "a peer says its nodeName is 'a1', which is this instance's own nodeName";
  start();
  auto seen = view();
  CAF_CHECK(seen.members.empty());
  CAF_CHECK(contains(seen.joins[0].last_error, "hello: a peer says its nodeName is 'a1'"));
  CAF_REQUIRE_EQUAL(seen.notices.size(), 1u);
  CAF_CHECK(contains(seen.notices[0], "the peer at 10.0.0.2:7946 refused this instance's hello, saying: a peer says"));
  pass(1000ms);
  CAF_CHECK_EQUAL(record->hellos.size(), 2u);
}

CAF_TEST(a hello from a peer joins it and the peer gets heartbeats on that connection) {
  start({});
  std::optional<member_hello> answer;
  auto pending = self->request(member, caf::infinite, member_hello{"a3", 1, "10.0.0.3:6233"});
  sched.run();
  pending.receive([&](member_hello& reply) { answer = reply; },
                  [&](caf::error& error) { CAF_FAIL("hello refused: " << sys.render(error)); });
  CAF_REQUIRE(answer);
  CAF_CHECK_EQUAL(answer->node_name, "a1");
  CAF_CHECK_EQUAL(answer->incarnation, 100u);
  CAF_CHECK_EQUAL(state_of("a3"), "alive");
  pass(1000ms);
  bool beat = false;
  self->receive([&](member_heartbeat& heartbeat) { beat = heartbeat.node_name == "a1"; },
                caf::after(caf::timespan{0}) >> [] {});
  CAF_CHECK(beat);
}

CAF_TEST(a hello from an older incarnation of a known peer is refused as stale) {
  listen_peer(peer_address, {"a2", 8, ""});
  start();
  std::optional<caf::error> refusal;
  auto pending = self->request(member, caf::infinite, member_hello{"a2", 7, ""});
  sched.run();
  pending.receive([&](member_hello&) { CAF_FAIL("a stale hello was accepted"); },
                  [&](caf::error& error) { refusal = error; });
  CAF_REQUIRE(refusal);
  CAF_CHECK(contains(refusal->context().get_as<std::string>(0), "older than the 8"));
  CAF_CHECK_EQUAL(find(view(), "a2")->identity.incarnation, 8u);
}

CAF_TEST(a join entry that is this instance itself is not dialled again) {
  member = spawn_membership(sys, settings({self_address}), transport);
  network->listening[self_address.to_string()] = caf::actor_cast<caf::strong_actor_ptr>(member);
  pass(60000ms);
  CAF_CHECK_EQUAL(network->connects.size(), 1u);
  auto seen = view();
  CAF_CHECK_EQUAL(seen.joins[0].phase, "self");
  CAF_CHECK(seen.members.empty());
}

CAF_TEST(a member that cannot publish itself ends with the reason) {
  network->refuse_publish = true;
  self->monitor(member = spawn_membership(sys, settings({}), transport));
  sched.run();
  std::optional<caf::error> reason;
  self->receive([&](caf::down_msg& down) { reason = down.reason; }, caf::after(caf::timespan{0}) >> [] {});
  CAF_REQUIRE(reason);
  auto text = sys.render(*reason);
  CAF_CHECK(contains(text, "cannot listen for peers on memberlist 0.0.0.0:7946"));
  CAF_CHECK(contains(text, "address in use"));
}

CAF_TEST(a peer that leaves is dead at once and its late heartbeats do not bring it back) {
  listen_peer(peer_address, {"a2", 7, ""});
  start();
  pass(500ms);
  beat_from(peer_address, {"a2", 7});
  caf::send_as(peer_at(peer_address), member, member_leave{"a2", 7});
  sched.run();
  CAF_CHECK_EQUAL(state_of("a2"), "dead");
  beat_from(peer_address, {"a2", 7});
  CAF_CHECK_EQUAL(state_of("a2"), "dead");
}

CAF_TEST(a member told to leave tells its peers and then stops its heartbeats and refuses new hellos) {
  auto record = listen_peer(peer_address, {"a2", 7, ""});
  start();
  pass(1000ms);
  CAF_REQUIRE_EQUAL(record->heartbeats.size(), 1u);
  anon_send(member, leave_atom::value);
  sched.run();
  CAF_REQUIRE_EQUAL(record->leaves.size(), 1u);
  CAF_CHECK_EQUAL(record->leaves[0].node_name, "a1");
  CAF_CHECK_EQUAL(record->leaves[0].incarnation, 100u);
  pass(5000ms);
  CAF_CHECK_EQUAL(record->heartbeats.size(), 1u);

  auto asking = self->request(member, caf::infinite, member_hello{"a3", 9, ""});
  sched.run();
  std::string refusal;
  asking.receive([](member_hello&) { CAF_FAIL("a leaving member accepted a hello"); },
                 [&](caf::error& error) {
                   if (error.category() == group_error_category && error.context().match_elements<std::string>())
                     refusal = error.context().get_as<std::string>(0);
                 });
  CAF_CHECK(contains(refusal, "is stopping"));
  CAF_CHECK_EQUAL(state_of("a3"), "absent");
}

CAF_TEST_FIXTURE_SCOPE_END()
