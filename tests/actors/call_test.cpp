// Behaviour of the call actor, driven through fake halves on CAF's deterministic scheduler.
#define CAF_SUITE call_actor

#include <caf/test/dsl.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <grpc/grpc.h>

#include <stdexcept>

#include "actors/call/call.hpp"
#include "byte_buffers.hpp"

using namespace s2s::actors;

namespace {

using s2s::actors::testing::bytes;
using s2s::actors::testing::text;

// Records what the call actor asks of the caller's side.
struct fake_downstream : downstream_port {
  call_info call;
  call_actor owner;
  std::size_t read_grants = 0;
  std::weak_ptr<read_gate> grants_go_to;
  std::vector<std::string> writes;
  std::vector<metadata_list> metadata_sent;
  std::optional<grpc::Status> finished_with;
  metadata_list trailers;
  int finish_calls = 0;

  fake_downstream() { call.method = "/test.Service/Method"; }
  const call_info& info() const override { return call; }
  void bind(call_actor actor) override { owner = actor; }
  void grant_reads(std::size_t count) override { read_grants += count; }
  void return_grants_to(std::weak_ptr<read_gate> peer) override { grants_go_to = peer; }
  void write(grpc::ByteBuffer message) override { writes.push_back(text(message)); }
  void send_metadata(metadata_list headers) override { metadata_sent.push_back(std::move(headers)); }
  void finish(const grpc::Status& status, const metadata_list& trailing) override {
    ++finish_calls;
    if (!finished_with) {
      finished_with = status;
      trailers = trailing;
    }
  }
};

// Records what the call actor asks of the upstream side.
struct fake_upstream : upstream_port {
  std::size_t read_grants = 0;
  std::weak_ptr<read_gate> grants_go_to;
  std::vector<std::string> writes;
  int writes_done_calls = 0;
  int cancels = 0;
  int releases = 0;
  void grant_reads(std::size_t count) override { read_grants += count; }
  void return_grants_to(std::weak_ptr<read_gate> peer) override { grants_go_to = peer; }
  void write(grpc::ByteBuffer message) override { writes.push_back(text(message)); }
  void writes_done() override { ++writes_done_calls; }
  void cancel() override { ++cancels; }
  void release() override { ++releases; }
};

struct fake_target : upstream_target {
  std::shared_ptr<fake_upstream> port = std::make_shared<fake_upstream>();
  int opened = 0;
  std::shared_ptr<upstream_port> open(const call_info&, call_actor) override {
    ++opened;
    return port;
  }
};

upstream_actor::behavior_type leasing(std::shared_ptr<upstream_target> target, std::string reason) {
  return {[=](lease_atom) { return upstream_lease{target, reason}; }};
}

// Fails (throws) on a request whose payload is "boom".
struct exploding_messages : message_filter {
  grpc::Status on_request(grpc::ByteBuffer& message) override {
    if (text(message) == "boom")
      throw std::runtime_error("filter exploded");
    return grpc::Status::OK;
  }
};

// Refuses calls to one method; gives every other call an exploding message filter.
struct test_filter : call_filter {
  decision start(const call_info& info) override {
    if (info.method == "/test.Service/Refused")
      return {grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "method is refused"), nullptr};
    return {grpc::Status::OK, std::make_unique<exploding_messages>()};
  }
};

struct fixture : test_coordinator_fixture<> {
  std::shared_ptr<fake_downstream> downstream = std::make_shared<fake_downstream>();
  std::shared_ptr<fake_target> target = std::make_shared<fake_target>();
  call_actor call;

  caf::actor upstream_handle;

  fixture() { grpc_init(); }
  ~fixture() {
    // Actors a test left running would keep the actor system from shutting down.
    if (call)
      self->send_exit(call, caf::exit_reason::user_shutdown);
    if (upstream_handle)
      self->send_exit(upstream_handle, caf::exit_reason::user_shutdown);
    run();
    grpc_shutdown();
  }

  void start(std::shared_ptr<upstream_target> lease_target, std::string reason = {},
             std::shared_ptr<call_filter> filter = nullptr) {
    auto upstream = sys.spawn(leasing, std::move(lease_target), std::move(reason));
    upstream_handle = caf::actor_cast<caf::actor>(upstream);
    call = spawn_call(sys, {downstream, upstream, std::move(filter)});
    run();
  }
  void start() { start(target); }

  template <class Message>
  void deliver(Message message) {
    self->send(call, std::move(message));
    run();
  }

  fake_upstream& up() { return *target->port; }
  bool call_alive() {
    auto ptr = caf::actor_cast<caf::strong_actor_ptr>(call);
    return ptr != nullptr && !ptr->get()->getf(caf::abstract_actor::is_terminated_flag);
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(call_actor_tests, fixture)

CAF_TEST(a unary call moves request and response and ends with the upstream status) {
  start();
  CAF_CHECK_EQUAL(target->opened, 1);
  CAF_CHECK_EQUAL(downstream->read_grants, 32u);
  CAF_CHECK_EQUAL(up().read_grants, 32u);
  deliver(downstream_read{bytes("request")});
  CAF_REQUIRE_EQUAL(up().writes.size(), 1u);
  CAF_CHECK_EQUAL(up().writes[0], "request");
  deliver(downstream_read_end{});
  CAF_CHECK_EQUAL(up().writes_done_calls, 1);  // the half sends it after its queued writes
  deliver(upstream_metadata{true, {{"x-initial", "1"}}});
  CAF_REQUIRE_EQUAL(downstream->metadata_sent.size(), 1u);
  CAF_CHECK_EQUAL(downstream->metadata_sent[0][0].first, "x-initial");
  deliver(upstream_read{bytes("response")});
  CAF_REQUIRE_EQUAL(downstream->writes.size(), 1u);
  CAF_CHECK_EQUAL(downstream->writes[0], "response");
  deliver(upstream_read_end{});
  CAF_CHECK_EQUAL(up().releases, 1);
  CAF_CHECK(!downstream->finished_with);  // the status has not arrived yet
  deliver(upstream_done{grpc::Status(grpc::StatusCode::NOT_FOUND, "no such thing"), {{"x-trailer", "t"}}});
  CAF_REQUIRE(downstream->finished_with);
  CAF_CHECK_EQUAL(downstream->finished_with->error_code(), grpc::StatusCode::NOT_FOUND);
  CAF_CHECK_EQUAL(downstream->finished_with->error_message(), "no such thing");
  CAF_CHECK_EQUAL(downstream->trailers.size(), 1u);
  CAF_CHECK(!call_alive());
}

CAF_TEST(the status follows every response message handed to the caller) {
  start();
  deliver(upstream_metadata{true, {}});
  deliver(upstream_read{bytes("one")});
  deliver(upstream_read{bytes("two")});
  CAF_CHECK_EQUAL(downstream->writes.size(), 2u);
  CAF_CHECK(!downstream->finished_with);
  deliver(downstream_read_end{});
  deliver(upstream_read_end{});
  deliver(upstream_done{grpc::Status::OK, {}});
  // The caller's half sends the status after the queued messages (see server_half::finish).
  CAF_REQUIRE(downstream->finished_with);
  CAF_CHECK(downstream->finished_with->ok());
  CAF_CHECK_EQUAL(downstream->writes.size(), 2u);
  CAF_CHECK(!call_alive());
}

CAF_TEST(each half reads ahead by a fixed grant and then gets its grants from the other half) {
  start();
  CAF_CHECK_EQUAL(downstream->read_grants, 32u);
  CAF_CHECK_EQUAL(up().read_grants, 32u);
  // Writes on one half give reads back to the other, without the actor.
  CAF_CHECK(up().grants_go_to.lock() == downstream);
  CAF_CHECK(downstream->grants_go_to.lock() == target->port);
  for (int i = 0; i < 40; ++i)
    deliver(downstream_read{bytes(std::to_string(i))});
  CAF_CHECK_EQUAL(up().writes.size(), 40u);
  CAF_CHECK_EQUAL(downstream->read_grants, 32u);  // the actor itself grants nothing more
}

CAF_TEST(messages read before the upstream is leased wait and then go in order) {
  auto upstream = sys.spawn(leasing, target, std::string{});
  upstream_handle = caf::actor_cast<caf::actor>(upstream);
  call = spawn_call(sys, {downstream, upstream, nullptr});
  sched.run_once();  // the call starts and asks for its lease; the lease is not answered yet
  self->send(call, downstream_read{bytes("early-1")});
  self->send(call, downstream_read{bytes("early-2")});
  self->send(call, downstream_read_end{});
  run();
  CAF_REQUIRE_EQUAL(up().writes.size(), 2u);
  CAF_CHECK_EQUAL(up().writes[0], "early-1");
  CAF_CHECK_EQUAL(up().writes[1], "early-2");
  CAF_CHECK_EQUAL(up().writes_done_calls, 1);
}

CAF_TEST(a caller that cancels cancels the upstream call) {
  start();
  deliver(downstream_cancelled{});
  CAF_CHECK_EQUAL(up().cancels, 1);
  CAF_CHECK_EQUAL(up().releases, 1);
  CAF_CHECK(!downstream->finished_with);  // waits for the upstream to be done
  deliver(upstream_done{grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"), {}});
  CAF_REQUIRE(downstream->finished_with);
  CAF_CHECK_EQUAL(downstream->finished_with->error_code(), grpc::StatusCode::CANCELLED);
  CAF_CHECK(!call_alive());
}

CAF_TEST(an upstream that answers early ends the call while the caller still streams) {
  start();
  deliver(downstream_read{bytes("1")});
  deliver(upstream_metadata{true, {}});
  deliver(upstream_read_end{});
  deliver(upstream_write_failed{});
  deliver(downstream_read{bytes("2")});  // nowhere to go
  CAF_CHECK_EQUAL(up().writes.size(), 1u);
  CAF_CHECK_EQUAL(up().releases, 1);
  deliver(upstream_done{grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad"), {}});
  CAF_REQUIRE(downstream->finished_with);
  CAF_CHECK_EQUAL(downstream->finished_with->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

CAF_TEST(a stop ends a call whose caller still streams with UNAVAILABLE and cancels upstream) {
  start();
  deliver(downstream_read{bytes("1")});
  deliver(upstream_metadata{true, {}});
  deliver(upstream_read{bytes("ack")});
  deliver(shutdown_atom::value);
  CAF_CHECK_EQUAL(up().cancels, 1);
  CAF_CHECK_EQUAL(up().releases, 1);
  deliver(upstream_done{grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"), {}});
  CAF_REQUIRE(downstream->finished_with);
  CAF_CHECK_EQUAL(downstream->finished_with->error_code(), grpc::StatusCode::UNAVAILABLE);
  CAF_CHECK_EQUAL(downstream->finished_with->error_message(), "s2s-proxy is shutting down; call again");
  CAF_CHECK(!call_alive());
}

CAF_TEST(a stop lets a call whose requests are all in run to its end) {
  start();
  deliver(downstream_read{bytes("request")});
  deliver(downstream_read_end{});
  deliver(shutdown_atom::value);
  CAF_CHECK_EQUAL(up().cancels, 0);
  CAF_CHECK(!downstream->finished_with);
  deliver(upstream_metadata{true, {}});
  deliver(upstream_read{bytes("response")});
  deliver(upstream_read_end{});
  deliver(upstream_done{grpc::Status::OK, {}});
  CAF_REQUIRE(downstream->finished_with);
  CAF_CHECK(downstream->finished_with->ok());
  CAF_REQUIRE_EQUAL(downstream->writes.size(), 1u);
  CAF_CHECK_EQUAL(downstream->writes[0], "response");
}

CAF_TEST(a call refused by a filter never reaches the upstream) {
  downstream->call.method = "/test.Service/Refused";
  start(target, {}, std::make_shared<test_filter>());
  CAF_CHECK_EQUAL(target->opened, 0);
  CAF_REQUIRE(downstream->finished_with);
  CAF_CHECK_EQUAL(downstream->finished_with->error_code(), grpc::StatusCode::PERMISSION_DENIED);
  CAF_CHECK_EQUAL(downstream->finished_with->error_message(), "method is refused");
  CAF_CHECK(!call_alive());
}

CAF_TEST(no upstream available ends the call with UNAVAILABLE and the reason) {
  start(nullptr, "no mux session to the remote side");
  CAF_REQUIRE(downstream->finished_with);
  CAF_CHECK_EQUAL(downstream->finished_with->error_code(), grpc::StatusCode::UNAVAILABLE);
  CAF_CHECK_EQUAL(downstream->finished_with->error_message(), "s2s-proxy: no mux session to the remote side");
}

CAF_TEST(a failing call actor ends its call with INTERNAL and cancels the upstream) {
  start(target, {}, std::make_shared<test_filter>());
  deliver(downstream_read{bytes("boom")});
  CAF_REQUIRE(downstream->finished_with);
  CAF_CHECK_EQUAL(downstream->finished_with->error_code(), grpc::StatusCode::INTERNAL);
  CAF_CHECK_EQUAL(downstream->finished_with->error_message(), "s2s-proxy: the call failed: filter exploded");
  CAF_CHECK_EQUAL(up().cancels, 1);
  CAF_CHECK_EQUAL(up().releases, 1);
  CAF_CHECK_EQUAL(downstream->finish_calls, 1);
  CAF_CHECK(!call_alive());
}

CAF_TEST_FIXTURE_SCOPE_END()
