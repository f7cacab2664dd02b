// Mux mode end to end: two proxies in one process, joined by yamux sessions over mutual TLS,
// an echo server behind each; every check runs in both directions over the same sessions.
#include <future>
#include <map>
#include <thread>

#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <caf/send.hpp>

#include "proxy/proxy_harness.hpp"
#include "support/certs.hpp"
#include "support/ports.hpp"
#include "support/temp_dir.hpp"

namespace s2s::testing {
namespace {

using v1::EchoRequest;
using v1::EchoService;
using namespace std::chrono_literals;

// Proxy B (mux-server, in front of cluster B) and proxy A (mux-client, in front of cluster A).
// "A to B" is A's outbound listener; "B to A" is B's.
class MuxProxy : public ::testing::Test {
 protected:
  temp_dir files;
  test_certificates certs = make_test_certificates(files.path());
  echo_server cluster_a;
  echo_server cluster_b;
  std::unique_ptr<proxy_process> proxy_b;
  std::unique_ptr<proxy_process> proxy_a;

  // `server_port`: proxy B's mux port; 0, any free one (then a restarted mux-server listens elsewhere).
  void start(int mux_count = 1, int server_port = 0) {
    config::config b;
    b.cluster_connections.push_back(mux_connection("b-to-a", cluster_b.port(), config::connection_type::mux_server,
                                                   server_port, mux_server_tls(certs), mux_count));
    proxy_b = std::make_unique<proxy_process>(b);
    config::config a;
    a.cluster_connections.push_back(mux_connection("a-to-b", cluster_a.port(), config::connection_type::mux_client,
                                                   proxy_b->mux_port("b-to-a"), mux_client_tls(certs), mux_count));
    proxy_a = std::make_unique<proxy_process>(a);
    ASSERT_TRUE(proxy_a->wait_for_sessions("a-to-b", mux_count, 20s));
    ASSERT_TRUE(proxy_b->wait_for_sessions("b-to-a", mux_count, 20s));
  }

  void TearDown() override {
    proxy_a.reset();
    proxy_b.reset();
  }

  // Both directions: (stub into the calling proxy, the echo server that must answer).
  struct direction {
    const char* label;
    std::unique_ptr<EchoService::Stub> stub;
    echo_server* target;
  };
  std::vector<direction> directions() {
    std::vector<direction> out;
    out.push_back({"A to B", EchoService::NewStub(make_channel(proxy_a->address("a-to-b outbound"))), &cluster_b});
    out.push_back({"B to A", EchoService::NewStub(make_channel(proxy_b->address("b-to-a outbound"))), &cluster_a});
    return out;
  }
};

TEST_F(MuxProxy, UnaryCallsReachTheOtherClusterInBothDirections) {
  start();
  for (auto& way : directions()) {
    auto result = call_unary(*way.stub, echo(std::string("hello ") + way.label));
    ASSERT_TRUE(result.status.ok()) << way.label << ": " << result.status.error_message();
    EXPECT_EQ(result.responses[0].payload(), std::string("hello ") + way.label);
    EXPECT_EQ(way.target->calls().started(), 1u) << way.label;
  }
}

TEST_F(MuxProxy, PayloadsFromEmptyToSixteenMebibytesArriveByteIdenticalBothWays) {
  start();
  for (auto& way : directions()) {
    for (std::size_t size : {0ul, 1ul, 1024ul, 65536ul, 1ul << 20, 16ul << 20}) {
      auto payload = pattern_payload(size);
      auto result = call_unary(*way.stub, echo(payload));
      ASSERT_TRUE(result.status.ok()) << way.label << " " << size << ": " << result.status.error_message();
      ASSERT_EQ(result.responses.size(), 1u);
      EXPECT_TRUE(result.responses[0].payload() == payload) << way.label << " size " << size;
    }
  }
}

TEST_F(MuxProxy, AMessageOfOneHundredTwentyEightMebibytesPassesBothWays) {
  start();
  auto ways = directions();
  call_options slow;
  slow.timeout = 180s;
  // Upload A to B: a request of exactly the limit (the payload's tag and 4 length bytes, and 2
  // bytes for response_bytes = 1).
  auto request = echo(pattern_payload(rpc::max_message_bytes - 7));
  request.set_response_bytes(1);
  ASSERT_EQ(request.ByteSizeLong(), static_cast<std::size_t>(rpc::max_message_bytes));
  auto upload = call_unary(*ways[0].stub, request, slow);
  ASSERT_TRUE(upload.status.ok()) << upload.status.error_message();
  // Download B to A: a response near the limit.
  EchoRequest download;
  download.set_response_bytes(rpc::max_message_bytes - 4096);
  auto result = call_unary(*ways[1].stub, download, slow);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  ASSERT_EQ(result.responses.size(), 1u);
  EXPECT_TRUE(result.responses[0].payload() == pattern_payload(rpc::max_message_bytes - 4096));
}

TEST_F(MuxProxy, EachStreamingKindPassesEveryMessageInOrderBothWays) {
  start();
  for (auto& way : directions()) {
    std::vector<EchoRequest> parts = {echo("alpha-"), echo(pattern_payload(100000)), echo("-omega")};
    auto client_stream = call_client_stream(*way.stub, parts);
    ASSERT_TRUE(client_stream.status.ok()) << way.label << client_stream.status.error_message();
    EXPECT_EQ(client_stream.responses[0].payload(), "alpha-" + pattern_payload(100000) + "-omega");

    auto fan_out = echo("tick");
    fan_out.set_stream_count(25);
    auto server_stream = call_server_stream(*way.stub, fan_out);
    ASSERT_TRUE(server_stream.status.ok()) << way.label << server_stream.status.error_message();
    ASSERT_EQ(server_stream.responses.size(), 25u);
    for (std::uint32_t i = 0; i < 25; ++i)
      EXPECT_EQ(server_stream.responses[i].sequence(), i);

    std::vector<EchoRequest> conversation;
    for (int i = 0; i < 50; ++i)
      conversation.push_back(echo(pattern_payload(static_cast<std::size_t>(i) * 997)));
    auto bidi = call_bidi(*way.stub, conversation);
    ASSERT_TRUE(bidi.status.ok()) << way.label << bidi.status.error_message();
    ASSERT_EQ(bidi.responses.size(), conversation.size());
    for (std::size_t i = 0; i < conversation.size(); ++i)
      EXPECT_EQ(bidi.responses[i].payload(), conversation[i].payload()) << way.label << " " << i;
  }
}

TEST_F(MuxProxy, MetadataPassesBothWaysIncludingBinaryHeaders) {
  start();
  std::string binary("\x00\x01\xfe\xff zero and high bytes", 24);
  for (auto& way : directions()) {
    call_options options;
    options.metadata = {{"temporal-client-cluster-id", "7"},
                        {"x-echo-token", "abc"},
                        {"x-echo-blob-bin", binary},
                        {"x-trailer-note", "the end"}};
    auto result = call_unary(*way.stub, echo("m"), options);
    ASSERT_TRUE(result.status.ok()) << way.label << result.status.error_message();
    std::map<std::string, std::string> seen;
    for (const auto& entry : result.responses[0].request_metadata())
      seen[entry.key()] = entry.value();
    EXPECT_EQ(seen["temporal-client-cluster-id"], "7") << way.label;
    EXPECT_EQ(seen["x-echo-blob-bin"], binary) << way.label;
    auto initial = result.initial_metadata.find("x-echo-blob-bin");
    ASSERT_NE(initial, result.initial_metadata.end()) << way.label;
    EXPECT_EQ(initial->second, binary);
    auto trailer = result.trailing_metadata.find("x-trailer-note");
    ASSERT_NE(trailer, result.trailing_metadata.end()) << way.label;
    EXPECT_EQ(trailer->second, "the end");
  }
}

TEST_F(MuxProxy, StatusMessageAndDetailsComeBackUnchangedBothWays) {
  start();
  auto request = echo("");
  request.mutable_error()->set_code(grpc::StatusCode::FAILED_PRECONDITION);
  request.mutable_error()->set_message("namespace is not active here");
  request.mutable_error()->set_details(std::string("\x08\x09\x12\x03xyz", 7));
  for (auto& way : directions()) {
    for (auto* kind : {"unary", "bidi"}) {
      auto result = std::string(kind) == "unary" ? call_unary(*way.stub, request) : call_bidi(*way.stub, {request});
      EXPECT_EQ(result.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << way.label << kind;
      EXPECT_EQ(result.status.error_message(), "namespace is not active here") << way.label << kind;
      EXPECT_EQ(result.status.error_details(), request.error().details()) << way.label << kind;
    }
  }
}

TEST_F(MuxProxy, ASlowUpstreamExceedsTheCallersDeadlineBothWays) {
  start();
  for (auto& way : directions()) {
    call_options options;
    options.timeout = 5s;
    auto quick = call_unary(*way.stub, echo("q"), options);
    ASSERT_TRUE(quick.status.ok()) << way.label;
    // The deadline travels, not a fresh one: what reaches the echo server is at most the
    // caller's 5 s, plus grpc's rounding of each grpc-timeout header up to 10 ms (three
    // headers: to proxy A, to proxy B, to the server).
    EXPECT_GT(quick.responses[0].deadline_remaining_ms(), 0);
    EXPECT_LE(quick.responses[0].deadline_remaining_ms(), 5000 + 3 * 10);

    auto slow = echo("slow");
    slow.set_delay_ms(3000);
    options.timeout = 300ms;
    auto result = call_unary(*way.stub, slow, options);
    EXPECT_EQ(result.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << way.label;
    EXPECT_TRUE(way.target->calls().wait_for_idle(5s)) << way.label;
  }
}

TEST_F(MuxProxy, CancellationPropagatesBothWays) {
  start();
  for (auto& way : directions()) {
    auto slow = echo("wait");
    slow.set_delay_ms(10000);
    call_options options;
    auto before = way.target->calls().cancelled();
    options.cancel_when = [&] { ASSERT_TRUE(way.target->calls().wait_for_in_flight(1, 5s)); };
    auto result = call_unary(*way.stub, slow, options);
    EXPECT_EQ(result.status.error_code(), grpc::StatusCode::CANCELLED) << way.label;
    EXPECT_TRUE(way.target->calls().wait_for_cancelled(before + 1, 5s)) << way.label;
    EXPECT_TRUE(way.target->calls().wait_for_idle(5s)) << way.label;

    auto request = echo("x");
    request.set_delay_ms(10000);
    request.mutable_server_cancel()->set_after_ms(100);
    for (auto* kind : {"unary", "bidi"}) {
      auto upstream_cancel =
          std::string(kind) == "unary" ? call_unary(*way.stub, request) : call_bidi(*way.stub, {request});
      EXPECT_EQ(upstream_cancel.status.error_code(), grpc::StatusCode::CANCELLED) << way.label << kind;
    }
  }
}

TEST_F(MuxProxy, TwoHundredConcurrentCallsAllCompleteBothWays) {
  start();
  for (auto& way : directions()) {
    auto before = way.target->calls().started();
    std::vector<std::future<call_result>> calls;
    for (int i = 0; i < 200; ++i) {
      calls.push_back(std::async(std::launch::async, [&, i] {
        auto request = echo("call-" + std::to_string(i));
        request.set_delay_ms(300);
        call_options options;
        options.timeout = 60s;
        return call_unary(*way.stub, request, options);
      }));
    }
    for (int i = 0; i < 200; ++i) {
      auto result = calls[i].get();
      ASSERT_TRUE(result.status.ok()) << way.label << i << ": " << result.status.error_message();
      EXPECT_EQ(result.responses[0].payload(), "call-" + std::to_string(i));
    }
    EXPECT_EQ(way.target->calls().started(), before + 200) << way.label;
  }
}

TEST_F(MuxProxy, MethodsTheProxyHasNeverSeenAreForwardedBothWays) {
  start();
  for (auto* address : {"a-to-b", "b-to-a"}) {
    auto& proxy = std::string(address) == "a-to-b" ? *proxy_a : *proxy_b;
    grpc::GenericStub generic(make_channel(proxy.address(std::string(address) + " outbound")));
    grpc::ClientContext context;
    grpc::Slice body(std::string("opaque request bytes"));
    grpc::ByteBuffer request(&body, 1), response;
    std::promise<grpc::Status> done;
    generic.UnaryCall(&context, "/temporal.server.api.adminservice.v1.AdminService/SomeFutureMethod",
                      grpc::StubOptions(), &request, &response, [&](grpc::Status status) { done.set_value(status); });
    EXPECT_EQ(done.get_future().get().error_code(), grpc::StatusCode::UNIMPLEMENTED) << address;
  }
}

TEST_F(MuxProxy, CallsAreSpreadOverEverySessionWhenMuxCountIsAboveOne) {
  start(3);
  auto ways = directions();
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(call_unary(*ways[0].stub, echo("rr")).status.ok());
    ASSERT_TRUE(call_unary(*ways[1].stub, echo("rr")).status.ok());
  }
  // Round robin over the three sessions' channels, on each side.
  EXPECT_EQ(proxy_a->mux_leases("a-to-b"), (std::vector<std::uint64_t>{10, 10, 10}));
  EXPECT_EQ(proxy_b->mux_leases("b-to-a"), (std::vector<std::uint64_t>{10, 10, 10}));
  EXPECT_EQ(proxy_b->mux_stats("b-to-a").sessions_live, 3u);
  EXPECT_EQ(cluster_b.calls().started(), 30u);
  EXPECT_EQ(cluster_a.calls().started(), 30u);
}

// At muxCount the server stops taking connections: a client that wants more sessions waits in
// the listen backlog instead of being refused and re-dialing in a loop (as with the Go proxy).
TEST_F(MuxProxy, AServerAtItsMuxCountTakesNoOtherConnection) {
  config::config b;
  b.cluster_connections.push_back(
      mux_connection("b-to-a", cluster_b.port(), config::connection_type::mux_server, 0, mux_server_tls(certs), 1));
  proxy_b = std::make_unique<proxy_process>(b);
  config::config a;
  a.cluster_connections.push_back(mux_connection("a-to-b", cluster_a.port(), config::connection_type::mux_client,
                                                 proxy_b->mux_port("b-to-a"), mux_client_tls(certs), 3));
  proxy_a = std::make_unique<proxy_process>(a);
  ASSERT_TRUE(proxy_b->wait_for_sessions("b-to-a", 1, 20s));
  ASSERT_TRUE(proxy_a->wait_for_sessions("a-to-b", 1, 20s));
  auto ways = directions();
  EXPECT_TRUE(call_unary(*ways[0].stub, echo("one is enough")).status.ok());
  EXPECT_TRUE(call_unary(*ways[1].stub, echo("both ways")).status.ok());
  // Sessions whose handshakes ran together when the client started may be refused as they come
  // up; after that the server takes nothing: its refusals stay where they are.
  auto settled = proxy_b->mux_stats("b-to-a").refusals.total();
  EXPECT_LE(settled, 2u);
  std::this_thread::sleep_for(3s);
  auto later = proxy_b->mux_stats("b-to-a");
  EXPECT_EQ(later.refusals.total(), settled);
  EXPECT_EQ(later.sessions_live, 1u);
  EXPECT_EQ(later.sessions_pending, 0u);
  EXPECT_EQ(proxy_a->mux_stats("a-to-b").sessions_live, 1u);
}

TEST_F(MuxProxy, AMuxServerPortAlreadyTakenIsAClearStartupError) {
  start();
  int taken = proxy_b->mux_port("b-to-a");
  config::config other;
  other.cluster_connections.push_back(
      mux_connection("c-to-a", cluster_b.port(), config::connection_type::mux_server, taken, mux_server_tls(certs)));
  auto problem = proxy_start_error(other);
  ASSERT_TRUE(problem.has_value());
  EXPECT_NE(problem->find("c-to-a mux: cannot listen on 127.0.0.1:" + std::to_string(taken)), std::string::npos)
      << *problem;
  EXPECT_NE(problem->find("in use"), std::string::npos) << *problem;
}

TEST_F(MuxProxy, WithNoSessionUpOutboundCallsEndWithUnavailable) {
  int closed_port;
  {
    echo_server gone;
    closed_port = gone.port();
  }
  config::config a;
  a.cluster_connections.push_back(mux_connection("a-to-b", cluster_a.port(), config::connection_type::mux_client,
                                                 closed_port, mux_client_tls(certs)));
  proxy_a = std::make_unique<proxy_process>(a);
  auto stub = EchoService::NewStub(make_channel(proxy_a->address("a-to-b outbound")));
  auto result = call_unary(*stub, echo("anyone?"));
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(result.status.error_message().find("no mux session to 127.0.0.1:" + std::to_string(closed_port) + " is up"),
            std::string::npos)
      << result.status.error_message();
}

// The supervised child of that name in the proxy's report now.
actors::child_report child_named(proxy_process& proxy, const std::string& name) {
  for (auto& child : proxy.report().children)
    if (child.name == name)
      return child;
  throw std::runtime_error("the proxy has no child named '" + name + "'");
}

// Kills the child as a crash would, and waits (bounded) until its supervisor has started it again.
bool kill_and_wait_for_restart(proxy_process& proxy, const std::string& name) {
  auto before = child_named(proxy, name);
  caf::anon_send_exit(caf::actor_cast<caf::actor>(before.actor), caf::exit_reason::kill);
  auto until = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < until) {
    auto now = child_named(proxy, name);
    if (now.up && now.restarts == before.restarts + 1 && now.actor != before.actor)
      return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

template <class Directions>
void expect_calls_both_ways(Directions directions, const std::string& label) {
  for (auto& way : directions) {
    auto result = call_unary(*way.stub, echo(label));
    EXPECT_TRUE(result.status.ok()) << way.label << " " << label << ": " << result.status.error_message();
  }
}

TEST_F(MuxProxy, AKilledMuxUpstreamGetsTheChannelsOfTheSessionsUpAndTheStreamInFlightGoesOn) {
  start(2);
  auto established = proxy_a->mux_stats("a-to-b").sessions_established;
  auto stub = EchoService::NewStub(make_channel(proxy_a->address("a-to-b outbound")));
  grpc::ClientContext context;
  auto stream = stub->Bidi(&context);
  v1::EchoResponse response;
  ASSERT_TRUE(stream->Write(echo("before")) && stream->Read(&response));
  EXPECT_EQ(response.payload(), "before");

  ASSERT_TRUE(kill_and_wait_for_restart(*proxy_a, "a-to-b outbound upstream"));
  // Both sessions offered their channels to the new mux upstream; none was dialed again.
  ASSERT_TRUE(proxy_a->wait_for_sessions("a-to-b", 2, 20s));
  EXPECT_EQ(proxy_a->mux_stats("a-to-b").sessions_established, established);
  expect_calls_both_ways(directions(), "after the mux upstream came back");

  ASSERT_TRUE(stream->Write(echo("after")) && stream->Read(&response));
  EXPECT_EQ(response.payload(), "after");
  stream->WritesDone();
  auto status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  for (const auto& child : proxy_b->report().children)
    EXPECT_EQ(child.restarts, 0u) << child.name;
}

TEST_F(MuxProxy, AKilledMuxClientConnectionComesBackAndDialsItsSessionsAgain) {
  start(2);
  ASSERT_TRUE(kill_and_wait_for_restart(*proxy_a, "a-to-b mux"));
  // The sessions of the one that was killed ended with it; the new one dials muxCount of its own.
  ASSERT_TRUE(proxy_a->wait_for_sessions("a-to-b", 2, 20s));
  ASSERT_TRUE(proxy_b->wait_for_sessions("b-to-a", 2, 20s));
  expect_calls_both_ways(directions(), "after the mux client came back");
}

TEST_F(MuxProxy, AKilledMuxServerConnectionListensOnItsPortAgainAndTheClientDialsBackIn) {
  start(1, free_loopback_port());
  ASSERT_TRUE(kill_and_wait_for_restart(*proxy_b, "b-to-a mux"));
  ASSERT_TRUE(proxy_b->wait_for_sessions("b-to-a", 1, 20s));
  ASSERT_TRUE(proxy_a->wait_for_sessions("a-to-b", 1, 20s));
  expect_calls_both_ways(directions(), "after the mux server came back");
}

TEST_F(MuxProxy, AKilledInboundListenerComesBackAndTheStreamsThePeerOpensReachIt) {
  start();
  auto b_to_a = EchoService::NewStub(make_channel(proxy_b->address("b-to-a outbound")));
  ASSERT_TRUE(call_unary(*b_to_a, echo("before")).status.ok());
  ASSERT_TRUE(kill_and_wait_for_restart(*proxy_a, "a-to-b inbound"));
  // The connection the old listener served was sent GOAWAY; proxy B opens another stream, which the
  // mux connection hands to the new listener.
  auto until = std::chrono::steady_clock::now() + 20s;
  grpc::Status status;
  do {
    status = call_unary(*b_to_a, echo("after")).status;
  } while (!status.ok() && std::chrono::steady_clock::now() < until);
  EXPECT_TRUE(status.ok()) << status.error_message();
  expect_calls_both_ways(directions(), "after the inbound listener came back");
}

}  // namespace
}  // namespace s2s::testing
