// Our session core against the real hashicorp/yamux over loopback TCP, in both roles.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "peer_process.hpp"
#include "stream_apps.hpp"
#include "tcp_session.hpp"

namespace s2s::yamux::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t mebibyte = 1024 * 1024;

template <typename Event>
std::function<void(const session_event&)> count(std::size_t& counter) {
  return [&counter](const session_event& e) { counter += std::holds_alternative<Event>(e) ? 1 : 0; };
}

// GetParam() is our role; the peer takes the other one. The yamux server listens, the client dials.
class YamuxConformance : public ::testing::TestWithParam<role> {
 protected:
  void start(std::vector<std::string> peer_args, const config& ours = {}) {
    peer_args.push_back("--timeout=90s");
    int fd = -1;
    if (GetParam() == role::client) {
      peer_args.insert(peer_args.end(), {"--role=server", "--listen=127.0.0.1:0"});
      peer_ = std::make_unique<peer_process>(YAMUX_PEER_PATH, peer_args);
      const auto line = peer_->read_line(30s);
      ASSERT_TRUE(line && line->starts_with("LISTENING ")) << "peer printed: " << peer_->output();
      fd = connect_loopback(line->substr(10));
    } else {
      loopback_listener listener;
      peer_args.insert(peer_args.end(), {"--role=client", "--dial=127.0.0.1:" + std::to_string(listener.port)});
      peer_ = std::make_unique<peer_process>(YAMUX_PEER_PATH, peer_args);
      fd = listener.accept_one(30s);
    }
    ASSERT_GE(fd, 0) << "no connection with the peer; it printed: " << peer_->output();
    link_ = std::make_unique<tcp_session>(fd, GetParam(), ours);
  }

  // Runs our side until `done`, failing the test on time-out.
  void run(const std::function<bool()>& done, std::chrono::milliseconds timeout, const char* what) {
    ASSERT_TRUE(link_->run_until(done, timeout))
        << "timed out waiting for " << what << "; session: " << (core().ended() ? core().end_reason() : "running")
        << "; peer printed: " << peer_->collect_output();
  }

  // Closes our end (unless the peer did) and expects the peer to report PASS.
  void expect_peer_passes() {
    link_->close_transport();
    const auto status = peer_->wait_exit(30s);
    ASSERT_TRUE(status) << "peer still running; it printed: " << peer_->output();
    EXPECT_EQ(*status, 0) << "peer printed: " << peer_->output();
    EXPECT_NE(peer_->output().find("PASS"), std::string::npos) << peer_->output();
  }

  session& core() { return link_->core(); }

  // Opens `streams` streams of `size` bytes each at once; the peer echoes them.
  // Returns how often a send window ran dry and was refilled.
  std::size_t echo_our_streams(std::size_t streams, std::size_t size) {
    std::size_t writable_events = 0;
    echo_checks checks(core(), size);
    link_->on_event = [&](const session_event& e) {
      writable_events += std::holds_alternative<stream_writable>(e) ? 1 : 0;
      checks.on_event(e);
    };
    for (std::size_t i = 0; i < streams; ++i)
      EXPECT_TRUE(checks.open(clock::now())) << checks.error();
    run([&] { return checks.completed() == streams || !checks.error().empty(); }, 120s, "our streams' echoes");
    EXPECT_EQ(checks.error(), "");
    EXPECT_EQ(checks.completed(), streams);
    return writable_events;
  }

  // The peer opens `streams` streams of `size` bytes each at once, and checks what we echo.
  void echo_peer_streams(std::size_t streams, std::size_t size) {
    ASSERT_NO_FATAL_FAILURE(
        start({"--mode=open-echo", "--streams=" + std::to_string(streams), "--bytes=" + std::to_string(size)}));
    echo_streams echo(core());
    link_->on_event = [&](const session_event& e) { echo.on_event(e); };
    run([&] { return link_->transport_closed(); }, 120s, "the peer to check its echoes and close");
    EXPECT_EQ(echo.accepted(), streams);
    EXPECT_EQ(echo.bytes_echoed(), streams * size);
    expect_peer_passes();
  }

  std::unique_ptr<peer_process> peer_;
  std::unique_ptr<tcp_session> link_;
};

TEST_P(YamuxConformance, OurStreamIsAcceptedEchoedAndHalfClosed) {
  ASSERT_NO_FATAL_FAILURE(start({"--mode=echo"}));
  echo_our_streams(1, 1000);
  expect_peer_passes();
}

TEST_P(YamuxConformance, SixteenMiBEchoPerStreamExhaustsAndRefillsWindows) {
  ASSERT_NO_FATAL_FAILURE(start({"--mode=echo"}));
  EXPECT_GE(echo_our_streams(2, 16 * mebibyte), 16u);  // each window ran dry and was refilled many times
  expect_peer_passes();
}

TEST_P(YamuxConformance, HundredConcurrentStreamsOfOurs) {
  ASSERT_NO_FATAL_FAILURE(start({"--mode=echo"}));
  echo_our_streams(100, 300 * 1024);
  expect_peer_passes();
}

TEST_P(YamuxConformance, PeerOpensHundredConcurrentStreamsAndWeEcho) { echo_peer_streams(100, 300 * 1024); }

TEST_P(YamuxConformance, PeerSixteenMiBStreamsAreEchoedThroughOurWindows) { echo_peer_streams(2, 16 * mebibyte); }

TEST_P(YamuxConformance, ResetsTravelBothWays) {
  ASSERT_NO_FATAL_FAILURE(start({"--mode=reset", "--close-timeout=200ms"}));
  std::vector<session_event> events;
  link_->on_event = [&](const session_event& e) { events.push_back(e); };
  const auto has = [&](auto predicate) { return std::any_of(events.begin(), events.end(), predicate); };

  const auto first = core().open_stream(clock::now()).id;
  const std::vector<std::uint8_t> x{'x'};
  ASSERT_EQ(core().write(first, x), 1u);
  run([&] { return has([&](const auto& e) { return std::holds_alternative<stream_established>(e); }); }, 20s,
      "the first stream to be accepted");
  ASSERT_TRUE(core().reset(first));  // the peer must see ErrConnectionReset

  const auto second = core().open_stream(clock::now()).id;
  run(
      [&] {
        return has([&](const auto& e) {
          const auto* r = std::get_if<stream_reset>(&e);
          return r && r->id == second && r->by_peer;
        });
      },
      20s, "the peer to reset the second stream after its close timeout");
  EXPECT_TRUE(has([&](const auto& e) {
    const auto* c = std::get_if<stream_remote_closed>(&e);
    return c && c->id == second;
  }));
  expect_peer_passes();
}

TEST_P(YamuxConformance, PeerResetsOurStreamBeyondItsBacklog) {
  ASSERT_NO_FATAL_FAILURE(start({"--mode=no-accept", "--backlog=1"}));
  std::vector<stream_id> resets;
  link_->on_event = [&](const session_event& e) {
    if (const auto* r = std::get_if<stream_reset>(&e))
      resets.push_back(r->id);
  };
  const auto first = core().open_stream(clock::now()).id;
  const auto second = core().open_stream(clock::now()).id;
  run([&] { return !resets.empty(); }, 20s, "the peer to reset the stream beyond its backlog");
  EXPECT_EQ(resets, std::vector<stream_id>{second});
  EXPECT_NE(core().find(first), nullptr);
  expect_peer_passes();
}

TEST_P(YamuxConformance, WeResetPeerStreamsBeyondOurBacklog) {
  config small;
  small.accept_backlog = 2;
  ASSERT_NO_FATAL_FAILURE(start({"--mode=open-overflow", "--streams=4", "--expect-resets=2"}, small));
  run([&] { return link_->transport_closed(); }, 30s, "the peer to count its reset streams and close");
  EXPECT_EQ(core().backlog_size(), 0u);  // the session ended with the connection
  expect_peer_passes();
}

TEST_P(YamuxConformance, PingsAreAnsweredBothWays) {
  ASSERT_NO_FATAL_FAILURE(start({"--mode=ping"}));
  std::vector<ping_acknowledged> acks;
  link_->on_event = [&](const session_event& e) {
    if (const auto* a = std::get_if<ping_acknowledged>(&e))
      acks.push_back(*a);
  };
  std::vector<std::uint32_t> sent;
  for (int i = 0; i < 3; ++i)
    sent.push_back(core().ping(clock::now()));
  run([&] { return acks.size() == 3 && peer_->collect_output().find("ping 4 rtt") != std::string::npos; }, 20s,
      "our three pings and the peer's five to be answered");
  // hashicorp/yamux answers each ping from its own goroutine, so replies may come in any order.
  std::vector<std::uint32_t> answered;
  for (const auto& a : acks) {
    answered.push_back(a.ping_id);
    EXPECT_GE(a.round_trip.count(), 0);
  }
  std::sort(answered.begin(), answered.end());
  EXPECT_EQ(answered, sent);
  expect_peer_passes();
}

TEST_P(YamuxConformance, GoAwayTravelsBothWays) {
  ASSERT_NO_FATAL_FAILURE(start({"--mode=goaway"}));
  std::optional<go_away_code> received;
  bool peer_closed_stream = false;
  link_->on_event = [&](const session_event& e) {
    if (const auto* g = std::get_if<go_away_received>(&e))
      received = g->code;
    peer_closed_stream |= std::holds_alternative<stream_remote_closed>(e);
  };
  const auto id = core().open_stream(clock::now()).id;
  const std::string go = "go\n";
  ASSERT_EQ(core().write(id, std::span(reinterpret_cast<const std::uint8_t*>(go.data()), go.size())), go.size());
  run([&] { return received && core().readable(id).size() == 3; }, 20s, "the peer's go-away and its \"ok\"");
  EXPECT_EQ(*received, go_away_code::normal);
  EXPECT_EQ(std::string(core().readable(id).begin(), core().readable(id).end()), "ok\n");
  core().consume(id, 3);
  EXPECT_EQ(core().open_stream(clock::now()).error, "the peer sent go-away and accepts no new streams");

  core().go_away(go_away_code::normal);
  const std::string bye = "bye\n";
  ASSERT_EQ(core().write(id, std::span(reinterpret_cast<const std::uint8_t*>(bye.data()), bye.size())), bye.size());
  run([&] { return peer_closed_stream; }, 20s, "the peer to find it may not open streams and close ours");
  EXPECT_FALSE(core().ended());
  expect_peer_passes();
}

TEST_P(YamuxConformance, KeepalivePingsFlowBothWays) {
  config fast;
  fast.keepalive_interval = 50ms;
  fast.connection_write_timeout = 1s;
  ASSERT_NO_FATAL_FAILURE(start({"--mode=keepalive", "--keepalive=50ms", "--duration=1500ms"}, fast));
  std::size_t acks = 0;
  link_->on_event = count<ping_acknowledged>(acks);
  run([&] { return link_->transport_closed(); }, 20s, "the peer to finish its keepalive period");
  EXPECT_GE(acks, 10u);
  EXPECT_EQ(core().end_reason(), "the peer closed the connection");
  expect_peer_passes();
}

INSTANTIATE_TEST_SUITE_P(BothRoles, YamuxConformance, ::testing::Values(role::client, role::server),
                         [](const ::testing::TestParamInfo<role>& info) {
                           return info.param == role::client ? "OurClient" : "OurServer";
                         });

}  // namespace
}  // namespace s2s::yamux::testing
