// The supervisor on CAF's deterministic scheduler: children of every kind, killed by an exit reason or by
// an exception in a handler, come back after their backoff; the children wired to them learn of the
// replacement; backoff grows on a crash loop and resets after a stable period; the restart count counts
// restarts that took; the other children, and a call in flight, are left alone. The table is the one the
// proxy builds from a config, with test children where the real ones need sockets or threads.
#define CAF_SUITE supervisor

#include <caf/test/dsl.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <grpc/grpc.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "actors/proxy.hpp"
#include "actors/schema.hpp"
#include "actors/upstream.hpp"
#include "byte_buffers.hpp"

using namespace s2s::actors;
using s2s::actors::testing::bytes;
using namespace std::chrono_literals;

// CAF_CHECK, saying which child or delay the check was about when it fails.
#define CHECK_SAYING(condition, what)                \
  do {                                               \
    if (!(condition))                                \
      CAF_MESSAGE("the next check fails: " << what); \
    CAF_CHECK(condition);                            \
  } while (false)

namespace {

// Makes a test child throw from its handler, as a bug would.
using crash_atom = caf::atom_constant<caf::atom("crash")>;

// What the test children heard, and what their starts saw, by child name.
struct journal {
  // (what, the actor it named): "upstream", "mux upstream", "inbound", "watch", "stop".
  std::map<std::string, std::vector<std::pair<std::string, caf::actor_addr>>> heard;
  // For each start of a child: the actors of the children it uses, as the start saw them.
  std::map<std::string, std::vector<std::vector<caf::actor_addr>>> wired;
  std::map<std::string, int> refusals;  // starts still to refuse

  caf::actor_addr last(const std::string& child, const std::string& what) const {
    auto found = heard.find(child);
    if (found == heard.end())
      return {};
    for (auto entry = found->second.rbegin(); entry != found->second.rend(); ++entry)
      if (entry->first == what)
        return entry->second;
    return {};
  }
  std::size_t count(const std::string& child, const std::string& what) const {
    auto found = heard.find(child);
    std::size_t n = 0;
    if (found != heard.end())
      for (const auto& entry : found->second)
        n += entry.first == what;
    return n;
  }
};

// A child that answers what the supervisor and the table's wiring send each kind, and writes it down.
caf::behavior test_child(caf::event_based_actor* self, std::shared_ptr<journal> log, std::string name) {
  auto note = [log, name](std::string what, caf::actor_addr about) {
    log->heard[name].emplace_back(std::move(what), std::move(about));
  };
  return {
      [=](stop_atom, std::chrono::milliseconds) {
        note("stop", {});
        self->quit();
        return true;
      },
      [=](crash_atom) -> bool { throw std::runtime_error("injected fault in " + name); },
      [=](upstream_atom, const upstream_actor& upstream) { note("upstream", upstream.address()); },
      [=](upstream_atom, const mux_upstream_actor& upstream) { note("mux upstream", upstream.address()); },
      [=](inbound_atom, const listener_actor& listener) { note("inbound", listener.address()); },
      [=](watch_atom, const caf::actor_addr& owner) { note("watch", owner); },
  };
}

// Starts a test child in the row's place, recording the actors of the children it uses as it starts.
child_start test_start(std::shared_ptr<journal> log, const child_spec& row) {
  std::vector<std::size_t> uses;
  for (const auto& use : row.uses)
    uses.push_back(use.child);
  return [log, name = row.name, uses](caf::actor_system& system,
                                      const child_actors& now) -> std::variant<started_child, std::string> {
    if (log->refusals[name] > 0) {
      --log->refusals[name];
      return name + ": refused for the test";
    }
    std::vector<caf::actor_addr> seen;
    for (auto used : uses)
      seen.push_back(now.get<caf::actor>(used).address());
    log->wired[name].push_back(std::move(seen));
    return started_child{caf::actor_cast<caf::strong_actor_ptr>(system.spawn(test_child, log, name)), 0};
  };
}

// A TCP-mode connection "a" and a mux-client connection "b", each translating namespaces, so each side
// waits for the schema of its local frontend.
constexpr std::string_view config_text = R"(
clusterConnections:
  - name: a
    local:
      connectionType: tcp
      tcpClient: { address: "127.0.0.1:7233" }
      tcpServer: { address: "127.0.0.1:6233" }
    remote:
      connectionType: tcp
      tcpClient: { address: "127.0.0.1:7234" }
      tcpServer: { address: "127.0.0.1:6234" }
    namespaceTranslation:
      mappings: [{ local: orders, remote: orders-a }]
  - name: b
    local:
      connectionType: tcp
      tcpClient: { address: "127.0.0.1:7235" }
      tcpServer: { address: "127.0.0.1:6235" }
    remote:
      connectionType: mux-client
      muxCount: 2
      muxAddressInfo: { address: "127.0.0.1:6335" }
    namespaceTranslation:
      mappings: [{ local: orders, remote: orders-b }]
)";

const std::vector<std::string> table_names = {
    "a outbound upstream",
    "a outbound",
    "a inbound upstream",
    "a inbound",
    "b outbound upstream",
    "b inbound upstream",
    "b inbound",
    "b mux",
    "b outbound",
    "schema from reflection on 127.0.0.1:7233",
    "schema from reflection on 127.0.0.1:7235",
};

restart_settings exact_restarts() {
  restart_settings settings;
  settings.initial_delay = 500ms;
  settings.max_delay = 4s;
  settings.jitter = 0;  // delays exactly as the policy computes them
  settings.stable_period = 10s;
  settings.max_failures = 10;
  settings.failure_window = 300s;
  return settings;
}

// Every step runs with sched.run(): the messages due, and no timeout before the test advances the clock.
struct fixture : test_coordinator_fixture<> {
  std::shared_ptr<journal> log = std::make_shared<journal>();
  std::shared_ptr<translation_setup> translation;
  std::vector<child_spec> table;
  supervisor_actor supervisor;

  fixture() { grpc_init(); }
  ~fixture() {
    if (supervisor) {
      self->request(supervisor, caf::infinite, stop_atom::value, 0ms);
      sched.run();
    }
    grpc_shutdown();
  }

  // The proxy's table from the config, every row a test child except the kinds in `real`.
  void make_proxy_table(std::vector<child_kind> real) {
    auto parsed = s2s::config::parse(config_text);
    CAF_REQUIRE(parsed.errors.empty());
    proxy_options options;
    options.restarts = exact_restarts();
    auto children = proxy_table(*parsed.value, options);
    translation = children.translation;
    table = std::move(children.table);
    for (auto& row : table)
      if (std::find(real.begin(), real.end(), row.kind) == real.end())
        row.start = test_start(log, row);
  }

  void start() {
    auto started = start_children(sys, table);
    CAF_REQUIRE(std::holds_alternative<std::vector<started_child>>(started));
    supervisor = spawn_supervisor(sys, table, std::get<std::vector<started_child>>(std::move(started)));
    sched.run();
  }

  proxy_report report() {
    auto answer = self->request(supervisor, caf::infinite, stats_atom::value);
    sched.run();
    proxy_report out;
    answer.receive([&](proxy_report& got) { out = std::move(got); },
                   [&](caf::error& error) { CAF_FAIL("no report: " << sys.render(error)); });
    return out;
  }
  child_report child(const std::string& name) {
    for (auto& entry : report().children)
      if (entry.name == name)
        return entry;
    CAF_FAIL("no child " << name);
    return {};
  }
  caf::actor actor_of(const std::string& name) { return caf::actor_cast<caf::actor>(child(name).actor); }
  std::size_t row_of(const std::string& name) const {
    for (std::size_t index = 0; index < table.size(); ++index)
      if (table[index].name == name)
        return index;
    CAF_FAIL("no row " << name);
    return 0;
  }

  void kill(const std::string& name) {
    self->send_exit(actor_of(name), caf::exit_reason::kill);
    sched.run();
  }
  void crash(const std::string& name) {
    self->send(actor_of(name), crash_atom::value);
    sched.run();
  }
  void wait(caf::timespan delay) {
    sched.clock().advance_time(delay);
    sched.run();
  }
};

// The call in flight of the last test: a caller's side and an upstream's, recording what the call does.
struct recording_downstream : downstream_port {
  call_info call;
  std::vector<grpc::ByteBuffer> writes;
  std::optional<grpc::Status> finished_with;
  recording_downstream() { call.method = "/test.Service/Method"; }
  const call_info& info() const override { return call; }
  void bind(call_actor) override {}
  void grant_reads(std::size_t) override {}
  void return_grants_to(std::weak_ptr<read_gate>) override {}
  void write(grpc::ByteBuffer message) override { writes.push_back(std::move(message)); }
  void send_metadata(metadata_list) override {}
  void finish(const grpc::Status& status, const metadata_list&) override {
    if (!finished_with)
      finished_with = status;
  }
};

struct recording_upstream : upstream_port {
  call_actor owner;
  int releases = 0;
  void grant_reads(std::size_t) override {}
  void return_grants_to(std::weak_ptr<read_gate>) override {}
  void write(grpc::ByteBuffer) override {}
  void writes_done() override {}
  void cancel() override {}
  void release() override { ++releases; }
};

struct recording_target : upstream_target {
  std::vector<std::shared_ptr<recording_upstream>> opened;
  std::shared_ptr<upstream_port> open(const call_info&, call_actor owner) override {
    opened.push_back(std::make_shared<recording_upstream>());
    opened.back()->owner = owner;
    return opened.back();
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(supervisor_tests, fixture)

CAF_TEST(the table of a tcp and a mux connection lists every child in start order) {
  make_proxy_table({});
  std::vector<std::string> names;
  for (const auto& row : table)
    names.push_back(row.name);
  CAF_CHECK_EQUAL(names, table_names);
  start();
  auto now = report();
  CAF_CHECK_EQUAL(now.children.size(), table_names.size());
  CAF_CHECK_EQUAL(now.endpoints.size(), 4u);  // two listeners per connection
  CAF_REQUIRE_EQUAL(now.mux.size(), 1u);
  CAF_CHECK_EQUAL(now.mux[0].name, "b mux");
  CAF_CHECK(now.mux[0].outbound.address() == child("b outbound upstream").actor);
  // Each schema actor is told to end with the supervisor.
  CAF_CHECK(log->last(table_names[9], "watch") == supervisor.address());
  CAF_CHECK(log->last(table_names[10], "watch") == supervisor.address());
}

CAF_TEST(every child killed by an exit reason comes back after its first delay and only it) {
  make_proxy_table({child_kind::upstream});
  start();
  std::set<std::string> killed;
  for (const auto& name : table_names) {
    auto before = report();
    auto old = child(name).actor;
    kill(name);
    CAF_CHECK(!child(name).up);
    CAF_CHECK_EQUAL(child(name).failures, 1u);
    wait(499ms);
    CHECK_SAYING(!child(name).up, name << " came back before its delay");
    wait(1ms);
    auto now = child(name);
    CHECK_SAYING(now.up, name << " did not come back");
    CAF_CHECK(now.actor != old);
    CAF_CHECK_EQUAL(now.restarts, 1u);
    CAF_CHECK_EQUAL(now.failures, 1u);
    killed.insert(name);
    // The others kept their actors and their counts.
    auto after = report();
    for (std::size_t index = 0; index < after.children.size(); ++index) {
      const auto& other = after.children[index];
      if (other.name == name)
        continue;
      CHECK_SAYING(other.actor == before.children[index].actor, other.name << " changed as " << name << " died");
      CAF_CHECK(other.up);
      CAF_CHECK_EQUAL(other.restarts, killed.count(other.name));
    }
  }
  CAF_CHECK_EQUAL(report().listener_restarts, 4u);
}

CAF_TEST(every child killed by an exception in a handler comes back) {
  make_proxy_table({});  // upstreams too are test children here: the real ones have no handler that can throw
  start();
  for (const auto& name : table_names) {
    auto old = child(name).actor;
    crash(name);
    CHECK_SAYING(!child(name).up, name << " did not go down");
    wait(500ms);
    auto now = child(name);
    CHECK_SAYING(now.up && now.actor != old, name << " did not come back");
    CAF_CHECK_EQUAL(now.restarts, 1u);
    CAF_CHECK_EQUAL(now.failures, 1u);
  }
}

CAF_TEST(a restarted upstream reaches the listeners and the mux connection that use it) {
  make_proxy_table({child_kind::upstream});
  start();
  for (const auto& [upstream, users] : std::map<std::string, std::vector<std::string>>{
           {"a outbound upstream", {"a outbound"}},
           {"a inbound upstream", {"a inbound"}},
           {"b inbound upstream", {"b inbound"}},
       }) {
    kill(upstream);
    wait(500ms);
    for (const auto& user : users)
      CHECK_SAYING(log->last(user, "upstream") == child(upstream).actor, user << " did not learn of " << upstream);
  }
  kill("b outbound upstream");
  wait(500ms);
  auto mux_upstream = child("b outbound upstream").actor;
  CAF_CHECK(log->last("b outbound", "upstream") == mux_upstream);
  CAF_CHECK(log->last("b mux", "mux upstream") == mux_upstream);
  CAF_CHECK(report().mux[0].outbound.address() == mux_upstream);
  // The listeners of connection a heard of their own upstream only.
  CAF_CHECK_EQUAL(log->count("a outbound", "upstream"), 1u);
  CAF_CHECK_EQUAL(log->count("b inbound", "upstream"), 1u);
}

CAF_TEST(a restarted listener and mux connection start wired to the children they use as they are now) {
  make_proxy_table({child_kind::upstream});
  start();
  // The inbound listener of the mux connection comes back: the mux connection is told.
  kill("b inbound");
  wait(500ms);
  CAF_CHECK(log->last("b mux", "inbound") == child("b inbound").actor);
  // Its upstream and its listener are replaced; then the mux connection: its start sees both new ones.
  kill("b outbound upstream");
  wait(500ms);
  kill("b mux");
  wait(500ms);
  const auto& starts = log->wired["b mux"];
  CAF_REQUIRE_EQUAL(starts.size(), 2u);
  std::vector<caf::actor_addr> expected{child("b outbound upstream").actor, child("b inbound").actor};
  CAF_CHECK(starts.back() == expected);
  CAF_CHECK(starts.front() != expected);
  // A listener that comes back starts with its upstream as it is now.
  kill("a outbound upstream");
  wait(500ms);
  kill("a outbound");
  wait(500ms);
  CAF_CHECK(log->wired["a outbound"].back() == std::vector<caf::actor_addr>{child("a outbound upstream").actor});
  // A schema actor that comes back is told again to end with the supervisor.
  kill(table_names[9]);
  wait(500ms);
  CAF_CHECK_EQUAL(log->count(table_names[9], "watch"), 2u);
  CAF_CHECK(log->last(table_names[9], "watch") == supervisor.address());
}

CAF_TEST(backoff doubles on a crash loop up to its cap and starts over after a stable period) {
  make_proxy_table({child_kind::upstream});
  start();
  const std::string name = "a outbound";
  std::uint64_t restarts = 0;
  for (auto delay : {500ms, 1000ms, 2000ms, 4000ms, 4000ms}) {
    crash(name);
    wait(delay - 1ms);
    CHECK_SAYING(!child(name).up, "came back before " << delay.count() << " ms");
    wait(1ms);
    CHECK_SAYING(child(name).up, "not back after " << delay.count() << " ms");
    CAF_CHECK_EQUAL(child(name).restarts, ++restarts);
  }
  // Up for less than the stable period: the next delay is still the cap.
  wait(9s);
  kill(name);
  wait(3999ms);
  CAF_CHECK(!child(name).up);
  wait(1ms);
  CAF_CHECK(child(name).up);
  // Up for the stable period: back to the first delay.
  wait(10s);
  kill(name);
  wait(500ms);
  CAF_CHECK(child(name).up);
  CAF_CHECK_EQUAL(child(name).restarts, restarts + 2);
}

CAF_TEST(restarts that fail count as failures and not as restarts until one takes) {
  make_proxy_table({child_kind::upstream});
  start();
  const std::string name = "b mux";
  log->refusals[name] = 2;
  kill(name);
  wait(500ms);  // refused
  CAF_CHECK(!child(name).up);
  CAF_CHECK_EQUAL(child(name).failures, 2u);
  CAF_CHECK_EQUAL(child(name).restarts, 0u);
  wait(1000ms);  // refused
  CAF_CHECK_EQUAL(child(name).failures, 3u);
  wait(2000ms);  // takes
  CAF_CHECK(child(name).up);
  CAF_CHECK_EQUAL(child(name).failures, 3u);
  CAF_CHECK_EQUAL(child(name).restarts, 1u);
}

CAF_TEST(a child that spends its failure budget stays down and is reported while the others serve) {
  make_proxy_table({child_kind::upstream});
  for (auto& row : table)
    row.restarts.max_failures = 2;
  start();
  const std::string name = "a inbound upstream";
  kill(name);
  wait(500ms);
  CAF_CHECK(child(name).up);
  kill(name);
  wait(1h);
  auto now = child(name);
  CAF_CHECK(!now.up);
  CAF_CHECK(now.given_up);
  CAF_CHECK_EQUAL(now.restarts, 1u);
  CAF_CHECK_EQUAL(now.failures, 2u);
  CAF_CHECK(now.serves == std::vector<std::string>{"a inbound"});
  for (const auto& other : report().children)
    CAF_CHECK(other.name == name || (other.up && !other.given_up));
}

CAF_TEST(a call in flight on an upstream that is killed completes and the next call leases the replacement) {
  auto target = std::make_shared<recording_target>();
  child_spec upstream;
  upstream.name = "test upstream";
  upstream.restarts = exact_restarts();
  upstream.start = [target](caf::actor_system& system,
                            const child_actors&) -> std::variant<started_child, std::string> {
    return started_child{caf::actor_cast<caf::strong_actor_ptr>(spawn_target_upstream(system, "test", target)), 0};
  };
  child_spec listener;
  listener.name = "test listener";
  listener.kind = child_kind::listener;
  listener.restarts = exact_restarts();
  listener.uses = {{0, [](const caf::strong_actor_ptr& self, const caf::strong_actor_ptr& replacement) {
                      caf::anon_send(caf::actor_cast<listener_actor>(self), upstream_atom::value,
                                     caf::actor_cast<upstream_actor>(replacement));
                    }}};
  listener.start = test_start(log, listener);
  table = {upstream, listener};
  start();

  auto first = std::make_shared<recording_downstream>();
  auto in_flight =
      spawn_call(sys, {first, caf::actor_cast<upstream_actor>(actor_of("test upstream")), nullptr, nullptr});
  sched.run();
  CAF_REQUIRE_EQUAL(target->opened.size(), 1u);

  kill("test upstream");
  wait(500ms);
  auto replacement = child("test upstream").actor;
  CAF_REQUIRE(child("test upstream").up);
  CAF_REQUIRE(log->last("test listener", "upstream") == replacement);

  // The call leased before goes on to its end.
  self->send(in_flight, upstream_metadata{true, {}});
  self->send(in_flight, upstream_read{bytes("response")});
  self->send(in_flight, downstream_read_end{});
  self->send(in_flight, upstream_read_end{});
  self->send(in_flight, upstream_done{grpc::Status::OK, {}});
  sched.run();
  CAF_CHECK_EQUAL(first->writes.size(), 1u);
  CAF_REQUIRE(first->finished_with);
  CAF_CHECK(first->finished_with->ok());

  // A call the listener accepts now leases from the upstream it was told of.
  auto second = std::make_shared<recording_downstream>();
  auto next = spawn_call(sys, {second, caf::actor_cast<upstream_actor>(replacement), nullptr, nullptr});
  sched.run();
  CAF_CHECK_EQUAL(target->opened.size(), 2u);
  CAF_CHECK(!second->finished_with);
  self->send_exit(next, caf::exit_reason::user_shutdown);
  sched.run();
}

CAF_TEST(a stop drains the listeners and then ends every other child) {
  make_proxy_table({child_kind::upstream});
  start();
  auto before = report();
  auto stopped = self->request(supervisor, caf::infinite, stop_atom::value, 0ms);
  sched.run();
  bool answer = false;
  stopped.receive([&](bool done) { answer = done; }, [&](caf::error& error) { CAF_FAIL(sys.render(error)); });
  CAF_CHECK(answer);
  for (const auto& name : {"a outbound", "a inbound", "b inbound", "b outbound", "b mux"})
    CAF_CHECK_EQUAL(log->count(name, "stop"), 1u);
  for (const auto& entry : before.children) {
    auto actor = caf::actor_cast<caf::strong_actor_ptr>(entry.actor);
    CHECK_SAYING(actor == nullptr || actor->get()->getf(caf::abstract_actor::is_terminated_flag),
                 entry.name << " still runs");
  }
  supervisor = supervisor_actor();  // stopped already
}

CAF_TEST_FIXTURE_SCOPE_END()
