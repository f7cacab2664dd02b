// Mux mode under faults: the connection cut mid-call, a peer that breaks the protocol, TLS
// that must be refused, and a mux-server that is not there yet. Every wait is a bounded poll
// on something the proxy reports; nothing depends on how fast the machine is.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <future>
#include <thread>

#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include "actors/mux/connection.hpp"
#include "proxy/mux_fakes.hpp"
#include "proxy/proxy_harness.hpp"
#include "support/ports.hpp"
#include "support/temp_dir.hpp"

namespace s2s::testing {
namespace {

using v1::EchoRequest;
using v1::EchoResponse;
using v1::EchoService;
using namespace std::chrono_literals;

constexpr auto patience = 30s;  // the bound on every wait; a healthy run takes a fraction
// The first re-dial after a session that was up: 1 s with up to 20% jitter.
constexpr auto first_redial_bound = 1200ms;

config::config mux_client_config(int frontend, int mux_port, config::tls_config tls) {
  config::config config;
  config.cluster_connections.push_back(
      mux_connection("a-to-b", frontend, config::connection_type::mux_client, mux_port, std::move(tls)));
  return config;
}

config::config mux_server_config(int frontend, int mux_port, config::tls_config tls) {
  config::config config;
  config.cluster_connections.push_back(
      mux_connection("b-to-a", frontend, config::connection_type::mux_server, mux_port, std::move(tls)));
  return config;
}

class MuxFaults : public ::testing::Test {
 protected:
  log_capture log;
  temp_dir files;
  test_certificates certs = make_test_certificates(files.path());
  echo_server cluster_a;
  echo_server cluster_b;
  std::unique_ptr<proxy_process> proxy_b;
  std::unique_ptr<proxy_process> proxy_a;

  void TearDown() override {
    proxy_a.reset();
    proxy_b.reset();
  }

  std::unique_ptr<EchoService::Stub> stub_into(proxy_process& proxy, const std::string& name) {
    return EchoService::NewStub(make_channel(proxy.address(name + " outbound")));
  }
};

// --- the connection is cut

TEST_F(MuxFaults, ACutConnectionEndsInFlightCallsWithUnavailableAndASessionComesBack) {
  proxy_b = std::make_unique<proxy_process>(mux_server_config(cluster_b.port(), 0, mux_server_tls(certs)));
  tcp_relay relay(proxy_b->mux_port("b-to-a"));
  proxy_a = std::make_unique<proxy_process>(mux_client_config(cluster_a.port(), relay.port(), mux_client_tls(certs)));
  ASSERT_TRUE(proxy_a->wait_for_sessions("a-to-b", 1, patience));
  ASSERT_TRUE(proxy_b->wait_for_sessions("b-to-a", 1, patience));
  auto a_to_b = stub_into(*proxy_a, "a-to-b");
  auto b_to_a = stub_into(*proxy_b, "b-to-a");

  // A bidi stream that has exchanged a message and stays open.
  grpc::ClientContext bidi_context;
  bidi_context.set_deadline(std::chrono::system_clock::now() + patience);
  auto bidi = a_to_b->Bidi(&bidi_context);
  EchoResponse answer;
  ASSERT_TRUE(bidi->Write(echo("before the cut")));
  ASSERT_TRUE(bidi->Read(&answer));
  EXPECT_EQ(answer.payload(), "before the cut");
  // Unary calls in flight in both directions, held by the echo servers.
  auto held = echo("held");
  held.set_delay_ms(60000);
  call_options long_wait;
  long_wait.timeout = patience;
  auto unary_a_to_b = std::async(std::launch::async, [&] { return call_unary(*a_to_b, held, long_wait); });
  auto unary_b_to_a = std::async(std::launch::async, [&] { return call_unary(*b_to_a, held, long_wait); });
  ASSERT_TRUE(cluster_b.calls().wait_for_in_flight(2, patience));  // the bidi stream and a unary
  ASSERT_TRUE(cluster_a.calls().wait_for_in_flight(1, patience));

  relay.cut();

  EXPECT_FALSE(bidi->Read(&answer));
  auto bidi_status = bidi->Finish();
  EXPECT_EQ(bidi_status.error_code(), grpc::StatusCode::UNAVAILABLE) << bidi_status.error_message();
  auto first = unary_a_to_b.get();
  EXPECT_EQ(first.status.error_code(), grpc::StatusCode::UNAVAILABLE) << first.status.error_message();
  auto second = unary_b_to_a.get();
  EXPECT_EQ(second.status.error_code(), grpc::StatusCode::UNAVAILABLE) << second.status.error_message();
  // The calls the echo servers held are cancelled, not left hanging.
  EXPECT_TRUE(cluster_a.calls().wait_for_idle(patience));
  EXPECT_TRUE(cluster_b.calls().wait_for_idle(patience));

  // The client re-dials on the first step of its backoff and both sides serve again.
  ASSERT_TRUE(eventually([&] { return proxy_a->mux_stats("a-to-b").sessions_established == 2; }, patience));
  ASSERT_TRUE(proxy_a->wait_for_sessions("a-to-b", 1, patience));
  ASSERT_TRUE(proxy_b->wait_for_sessions("b-to-a", 1, patience));
  auto stats = proxy_a->mux_stats("a-to-b");
  ASSERT_EQ(stats.redial_delays.size(), 1u);
  EXPECT_LE(stats.redial_delays[0], first_redial_bound);
  EXPECT_EQ(stats.sessions_ended, 1u);
  EXPECT_EQ(relay.connections_accepted(), 2u);
  EXPECT_FALSE(log.wait_for({"a-to-b mux session 1", "ended"}, patience).empty());

  auto after_a_to_b = call_unary(*a_to_b, echo("after the cut"));
  ASSERT_TRUE(after_a_to_b.status.ok()) << after_a_to_b.status.error_message();
  EXPECT_EQ(after_a_to_b.responses[0].payload(), "after the cut");
  auto after_b_to_a = call_unary(*b_to_a, echo("after the cut"));
  ASSERT_TRUE(after_b_to_a.status.ok()) << after_b_to_a.status.error_message();
  auto after_bidi = call_bidi(*a_to_b, {echo("one"), echo("two")});
  ASSERT_TRUE(after_bidi.status.ok()) << after_bidi.status.error_message();
  EXPECT_EQ(after_bidi.responses.size(), 2u);
}

// --- the peer breaks the protocol

// What the client must do with a peer that sends `script` right after TLS: send go-away with
// code 1 (protocol error), log the reason, count no session as established and dial again.
void expect_protocol_error(const test_certificates& certs, echo_server& frontend, log_capture& log,
                           std::vector<std::uint8_t> script, const std::string& reason) {
  fake_mux_server peer(mux_server_tls(certs), std::move(script));
  proxy_process proxy(mux_client_config(frontend.port(), peer.port(), mux_client_tls(certs)));
  // Dialed again after the first session failed.
  ASSERT_TRUE(peer.wait_until([](const fake_mux_server& p) { return p.sessions() >= 2; }, patience));
  auto frames = peer.frames(0);
  ASSERT_FALSE(frames.empty());
  const auto& last = frames.back();
  EXPECT_EQ(last.version, 0);
  EXPECT_EQ(last.type, 3) << "the last frame is not a go-away";
  EXPECT_EQ(last.stream, 0u);
  EXPECT_EQ(last.length, 1u) << "go-away code";
  auto line = log.wait_for({"a-to-b mux session 1", "protocol error: ", reason}, patience);
  EXPECT_FALSE(line.empty()) << "no log line names the protocol error '" << reason << "'";
  auto stats = proxy.mux_stats("a-to-b");
  EXPECT_EQ(stats.sessions_established, 0u);
  EXPECT_GE(stats.sessions_failed, 1u);
  ASSERT_GE(stats.redial_delays.size(), 1u);
  EXPECT_LE(stats.redial_delays[0], first_redial_bound);
}

TEST_F(MuxFaults, GarbageFromThePeerGetsAProtocolErrorGoAwayAndARedial) {
  std::string text = "HTTP/1.1 400 Bad Request\r\n\r\n";
  expect_protocol_error(certs, cluster_a, log, {text.begin(), text.end()},
                        "frame has protocol version 72, only version 0 exists");
}

TEST_F(MuxFaults, AnUnknownVersionGetsAProtocolErrorGoAwayAndARedial) {
  // A well-formed ping, but of version 1.
  expect_protocol_error(certs, cluster_a, log, frame_bytes(1, 2, 0x1, 0, 7),
                        "frame has protocol version 1, only version 0 exists");
}

TEST_F(MuxFaults, AnUnknownTypeGetsAProtocolErrorGoAwayAndARedial) {
  expect_protocol_error(certs, cluster_a, log, frame_bytes(0, 9, 0, 0, 0), "frame has unknown type 9");
}

TEST_F(MuxFaults, APeerOverrunningItsWindowGetsAProtocolErrorGoAwayAndARedial) {
  // The peer opens stream 2 and sends one byte more than the 256 KiB a new stream may carry.
  constexpr std::uint32_t too_much = 256 * 1024 + 1;
  auto script = frame_bytes(0, 0, 0x1, 2, too_much);
  script.resize(script.size() + 1024, 0x42);
  expect_protocol_error(certs, cluster_a, log, script, "more than its window of 262144");
}

// --- TLS that must be refused

// Waits until `refusing` logged a failed handshake and counted it, and checks no session came
// up on either side.
void expect_refused(proxy_process& client, proxy_process& server, log_capture& log,
                    const std::string& refusing_component, const std::string& why) {
  auto line = log.wait_for({refusing_component, "no session: TLS handshake", why}, patience);
  EXPECT_FALSE(line.empty()) << "no log line from " << refusing_component << " says " << why;
  auto& refusing = refusing_component.rfind("a-to-b", 0) == 0 ? client : server;
  auto name = refusing_component.substr(0, 6);
  EXPECT_TRUE(eventually([&] { return refusing.mux_stats(name).sessions_failed >= 1; }, patience));
  EXPECT_EQ(client.mux_stats("a-to-b").sessions_established, 0u);
  EXPECT_EQ(server.mux_stats("b-to-a").sessions_established, 0u);
  EXPECT_EQ(client.mux_stats("a-to-b").sessions_live, 0u);
  EXPECT_EQ(server.mux_stats("b-to-a").sessions_live, 0u);
}

TEST_F(MuxFaults, AClientCertificateFromAnotherCaIsRefused) {
  proxy_b = std::make_unique<proxy_process>(mux_server_config(cluster_b.port(), 0, mux_server_tls(certs)));
  auto tls = mux_client_tls(certs);
  tls.certificate_path = certs.untrusted.client.certificate;
  tls.key_path = certs.untrusted.client.private_key;
  proxy_a = std::make_unique<proxy_process>(mux_client_config(cluster_a.port(), proxy_b->mux_port("b-to-a"), tls));
  expect_refused(*proxy_a, *proxy_b, log, "b-to-a mux session", "certificate");
}

TEST_F(MuxFaults, AClientWithoutACertificateIsRefused) {
  proxy_b = std::make_unique<proxy_process>(mux_server_config(cluster_b.port(), 0, mux_server_tls(certs)));
  auto tls = mux_client_tls(certs);
  tls.certificate_path.clear();
  tls.key_path.clear();
  proxy_a = std::make_unique<proxy_process>(mux_client_config(cluster_a.port(), proxy_b->mux_port("b-to-a"), tls));
  expect_refused(*proxy_a, *proxy_b, log, "b-to-a mux session", "certificate");
}

TEST_F(MuxFaults, AServerCertificateForAnotherNameIsRefused) {
  proxy_b = std::make_unique<proxy_process>(mux_server_config(cluster_b.port(), 0, mux_server_tls(certs)));
  auto tls = mux_client_tls(certs);
  tls.ca_server_name = "not-the-mux-server.example";
  proxy_a = std::make_unique<proxy_process>(mux_client_config(cluster_a.port(), proxy_b->mux_port("b-to-a"), tls));
  expect_refused(*proxy_a, *proxy_b, log, "a-to-b mux session", "hostname mismatch");
}

TEST_F(MuxFaults, AServerCertificateFromAnotherCaIsRefused) {
  auto server = mux_server_tls(certs);
  server.certificate_path = certs.untrusted.server.certificate;
  server.key_path = certs.untrusted.server.private_key;
  proxy_b = std::make_unique<proxy_process>(mux_server_config(cluster_b.port(), 0, server));
  proxy_a = std::make_unique<proxy_process>(
      mux_client_config(cluster_a.port(), proxy_b->mux_port("b-to-a"), mux_client_tls(certs)));
  expect_refused(*proxy_a, *proxy_b, log, "a-to-b mux session", "certificate");
}

// Open, connected sockets to `port` that never send a byte: stuck before the TLS handshake.
struct silent_connections {
  std::vector<int> fds;
  silent_connections(int port, int count) {
    for (int i = 0; i < count; ++i)
      fds.push_back(connect_to_loopback(port));
  }
  ~silent_connections() {
    for (int fd : fds)
      if (fd >= 0)
        ::close(fd);
  }
  // True while the server has closed none of them.
  bool all_open() const {
    for (int fd : fds) {
      char byte;
      if (fd < 0 || ::recv(fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK) >= 0 || errno != EAGAIN)
        return false;
    }
    return true;
  }
};

// A mux-server with admission bounds of its own (muxAdmission).
config::config mux_server_config(int frontend, config::tls_config tls, config::mux_admission admission) {
  auto config = mux_server_config(frontend, 0, std::move(tls));
  config.cluster_connections[0].remote.admission = admission;
  return config;
}

// Open, connected sockets that sent one byte of a TLS record and then nothing: stuck in the
// handshake, past the wait for a first byte.
struct stalled_handshakes : silent_connections {
  stalled_handshakes(int port, int count) : silent_connections(port, count) {
    for (int fd : fds)
      if (fd >= 0) [[maybe_unused]]
        auto sent = ::send(fd, "\x16", 1, MSG_NOSIGNAL);
  }
};

std::uint64_t refused(const actors::mux_connection_stats& stats, actors::mux_refusal cause) {
  return stats.refusals[cause];
}

// Connections that never send a byte (a port scanner, a flood) wait in the acceptor's pool,
// without a session or a thread, and take neither a handshake slot nor the slot of muxCount
// from a client that speaks.
TEST_F(MuxFaults, SilentConnectionsWaitWithoutASessionAndDoNotTakeTheSlotOfMuxCount) {
  config::mux_admission patient;
  patient.client_hello_timeout_ms = 60000;
  proxy_b = std::make_unique<proxy_process>(mux_server_config(cluster_b.port(), mux_server_tls(certs), patient));
  silent_connections stuck(proxy_b->mux_port("b-to-a"), 3);
  ASSERT_TRUE(eventually([&] { return proxy_b->mux_stats("b-to-a").connections_waiting == 3; }, patience));
  EXPECT_EQ(proxy_b->mux_stats("b-to-a").sessions_pending, 0u);
  proxy_a = std::make_unique<proxy_process>(
      mux_client_config(cluster_a.port(), proxy_b->mux_port("b-to-a"), mux_client_tls(certs)));
  ASSERT_TRUE(proxy_a->wait_for_sessions("a-to-b", 1, patience));
  ASSERT_TRUE(proxy_b->wait_for_sessions("b-to-a", 1, patience));
  auto answer = call_unary(*stub_into(*proxy_a, "a-to-b"), echo("past the silent ones"));
  ASSERT_TRUE(answer.status.ok()) << answer.status.error_message();
  EXPECT_EQ(answer.responses[0].payload(), "past the silent ones");
  // The silent connections are all still there, still waiting; nothing was refused.
  EXPECT_TRUE(stuck.all_open());
  auto stats = proxy_b->mux_stats("b-to-a");
  EXPECT_EQ(stats.connections_waiting, 3u);
  EXPECT_EQ(stats.refusals.total(), 0u);
}

TEST_F(MuxFaults, AServerClosesConnectionsThatSendNothingWithinTheHelloTimeout) {
  config::mux_admission quick;
  quick.client_hello_timeout_ms = 300;
  proxy_b = std::make_unique<proxy_process>(mux_server_config(cluster_b.port(), mux_server_tls(certs), quick));
  silent_connections stuck(proxy_b->mux_port("b-to-a"), 5);
  ASSERT_TRUE(eventually([&] { return refused(proxy_b->mux_stats("b-to-a"), actors::mux_refusal::hello_timeout) == 5; },
                         patience));
  // Closed by the server: each reads the end of the stream.
  for (int fd : stuck.fds) {
    char byte;
    EXPECT_TRUE(eventually([&] { return ::recv(fd, &byte, 1, MSG_DONTWAIT) == 0; }, patience));
  }
  auto stats = proxy_b->mux_stats("b-to-a");
  EXPECT_EQ(stats.connections_waiting, 0u);
  EXPECT_EQ(stats.refusals.total(), 5u);
  // A client that speaks is served as before.
  proxy_a = std::make_unique<proxy_process>(
      mux_client_config(cluster_a.port(), proxy_b->mux_port("b-to-a"), mux_client_tls(certs)));
  ASSERT_TRUE(proxy_a->wait_for_sessions("a-to-b", 1, patience));
  EXPECT_TRUE(call_unary(*stub_into(*proxy_a, "a-to-b"), echo("spoke in time")).status.ok());
}

// A full waiting pool makes room by closing its oldest silent connection, never the newcomer,
// and one source address cannot hold more than its share.
TEST_F(MuxFaults, AFullWaitingPoolDropsItsOldestSilentConnection) {
  config::mux_admission small;
  small.client_hello_timeout_ms = 60000;
  small.max_waiting = 4;
  small.max_waiting_per_source = 10;  // all come from 127.0.0.1: the pool's bound, not the source's, is met
  proxy_b = std::make_unique<proxy_process>(mux_server_config(cluster_b.port(), mux_server_tls(certs), small));
  silent_connections first(proxy_b->mux_port("b-to-a"), 1);
  ASSERT_TRUE(eventually([&] { return proxy_b->mux_stats("b-to-a").connections_waiting == 1; }, patience));
  silent_connections later(proxy_b->mux_port("b-to-a"), 4);
  ASSERT_TRUE(eventually(
      [&] { return refused(proxy_b->mux_stats("b-to-a"), actors::mux_refusal::waiting_pool_full) == 1; }, patience));
  char byte;
  EXPECT_TRUE(eventually([&] { return ::recv(first.fds[0], &byte, 1, MSG_DONTWAIT) == 0; }, patience));
  EXPECT_TRUE(later.all_open());
  EXPECT_EQ(proxy_b->mux_stats("b-to-a").connections_waiting, 4u);
}

TEST_F(MuxFaults, OneSourceCannotHoldMoreThanItsShareOfTheWaitingPool) {
  config::mux_admission small;
  small.client_hello_timeout_ms = 60000;
  small.max_waiting_per_source = 3;
  proxy_b = std::make_unique<proxy_process>(mux_server_config(cluster_b.port(), mux_server_tls(certs), small));
  silent_connections flood(proxy_b->mux_port("b-to-a"), 8);
  ASSERT_TRUE(eventually(
      [&] { return refused(proxy_b->mux_stats("b-to-a"), actors::mux_refusal::per_source_cap) == 5; }, patience));
  EXPECT_EQ(proxy_b->mux_stats("b-to-a").connections_waiting, 3u);
}

// Handshakes in progress are bounded: each has a thread until it ends. When the bound is
// reached the oldest stalled handshake gives way, so stalled handshakes cannot lock anyone out.
TEST_F(MuxFaults, HandshakesInProgressAreBoundedAndTheOldestGivesWayToANewcomer) {
  config::mux_admission few;
  few.max_handshakes = 4;
  few.handshake_timeout_ms = 60000;
  proxy_b = std::make_unique<proxy_process>(mux_server_config(cluster_b.port(), mux_server_tls(certs), few));
  stalled_handshakes stalled(proxy_b->mux_port("b-to-a"), 4);
  ASSERT_TRUE(eventually([&] { return proxy_b->mux_stats("b-to-a").sessions_pending == 4; }, patience));
  EXPECT_EQ(proxy_b->mux_stats("b-to-a").refusals.total(), 0u);
  proxy_a = std::make_unique<proxy_process>(
      mux_client_config(cluster_a.port(), proxy_b->mux_port("b-to-a"), mux_client_tls(certs)));
  ASSERT_TRUE(proxy_a->wait_for_sessions("a-to-b", 1, patience));
  ASSERT_TRUE(proxy_b->wait_for_sessions("b-to-a", 1, patience));
  EXPECT_TRUE(call_unary(*stub_into(*proxy_a, "a-to-b"), echo("past the stalled ones")).status.ok());
  auto stats = proxy_b->mux_stats("b-to-a");
  EXPECT_EQ(refused(stats, actors::mux_refusal::handshake_pool_full), 1u);
  EXPECT_EQ(stats.sessions_pending, 3u);
}

// --- the mux-server is down at start

TEST_F(MuxFaults, AClientKeepsDialingOnItsBackoffScheduleUntilTheServerComesUp) {
  int port = free_loopback_port();
  proxy_a = std::make_unique<proxy_process>(mux_client_config(cluster_a.port(), port, mux_client_tls(certs)));
  auto stub = stub_into(*proxy_a, "a-to-b");
  EXPECT_EQ(call_unary(*stub, echo("too early")).status.error_code(), grpc::StatusCode::UNAVAILABLE);
  ASSERT_TRUE(eventually([&] { return proxy_a->mux_stats("a-to-b").redial_delays.size() >= 3; }, patience));
  EXPECT_FALSE(log.wait_for({"a-to-b mux session", "no session: cannot connect"}, patience).empty());

  proxy_b = std::make_unique<proxy_process>(mux_server_config(cluster_b.port(), port, mux_server_tls(certs)));
  ASSERT_TRUE(proxy_a->wait_for_sessions("a-to-b", 1, 60s));
  ASSERT_TRUE(proxy_b->wait_for_sessions("b-to-a", 1, patience));
  auto delays = proxy_a->mux_stats("a-to-b").redial_delays;
  // 1 s, then x1.5 each time, each within 20% jitter.
  double base = 1000;
  for (std::size_t i = 0; i < delays.size(); ++i, base = std::min(base * 1.5, 30000.0)) {
    EXPECT_GE(delays[i].count(), base * 0.8 - 5) << "delay " << i;
    EXPECT_LE(delays[i].count(), base * 1.2 + 5) << "delay " << i;
  }
  auto result = call_unary(*stub, echo("now it is up"));
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.responses[0].payload(), "now it is up");
}

TEST(RedialBackoff, StartsAtOneSecondGrowsByHalfAndStopsAtThirtySeconds) {
  actors::redial_backoff middle{actors::redial_backoff::settings{}};
  std::vector<long long> seen;
  for (int i = 0; i < 12; ++i)
    seen.push_back(middle.next(0.5).count());
  EXPECT_EQ(seen,
            (std::vector<long long>{1000, 1500, 2250, 3375, 5062, 7593, 11389, 17083, 25624, 30000, 30000, 30000}));
  middle.reset();
  EXPECT_EQ(middle.next(0.5).count(), 1000);
}

TEST(RedialBackoff, JitterStaysWithinTwentyPercent) {
  actors::redial_backoff low{actors::redial_backoff::settings{}};
  actors::redial_backoff high{actors::redial_backoff::settings{}};
  EXPECT_EQ(low.next(0.0).count(), 800);
  EXPECT_EQ(high.next(0.999999).count(), 1199);
  for (int i = 0; i < 20; ++i) {
    low.next(0.0);
    high.next(0.999999);
  }
  EXPECT_EQ(low.next(0.0).count(), 24000);
  EXPECT_EQ(high.next(0.999999).count(), 35999);
}

}  // namespace
}  // namespace s2s::testing
