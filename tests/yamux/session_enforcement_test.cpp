// A peer that breaks the protocol gets a go-away with protocol error and the session ends.
#include "yamux/session.hpp"

#include <gtest/gtest.h>

#include "session_link.hpp"

namespace s2s::yamux {
namespace {

using namespace s2s::yamux::testing;

const bytes protocol_error_go_away =
    frame(frame_type::go_away, 0, 0, static_cast<std::uint32_t>(go_away_code::protocol_error));

class YamuxEnforcement : public ::testing::Test {
 protected:
  // Feeds the frames to a fresh session of the given role and returns its end reason.
  std::string violation(role side, const std::vector<bytes>& frames) {
    session s(side, config{}, now);
    for (const auto& f : frames) {
      s.receive(f, now);
      take_output(s);
      if (s.ended())
        break;
    }
    return s.ended() ? s.end_reason() : "(session still running)";
  }

  std::string server_violation(const std::vector<bytes>& frames) { return violation(role::server, frames); }

  clock::time_point now{};
};

TEST_F(YamuxEnforcement, ViolationQueuesGoAwayProtocolErrorAndEndsTheSession) {
  session s(role::server, config{}, now);
  bytes wire = frame(frame_type::window_update, flags::syn, 1, 0);
  wire[0] = 1;
  s.receive(wire, now);
  EXPECT_TRUE(s.ended());
  EXPECT_EQ(take_output(s), protocol_error_go_away);
  const auto ended = only<session_ended>(drain_events(s));
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].reason, "protocol error: frame has protocol version 1, only version 0 exists");
}

TEST_F(YamuxEnforcement, InputAfterAViolationIsIgnored) {
  session s(role::server, config{}, now);
  bytes wire = frame(frame_type::data, 0, 0, 0);
  const auto ping = frame(frame_type::ping, flags::syn, 0, 9);
  wire.insert(wire.end(), ping.begin(), ping.end());
  s.receive(wire, now);
  EXPECT_EQ(take_output(s), protocol_error_go_away);  // and no ping reply
}

TEST_F(YamuxEnforcement, UnknownTypeEndsTheSession) {
  EXPECT_EQ(server_violation({frame(static_cast<frame_type>(4), 0, 1, 0)}), "protocol error: frame has unknown type 4");
}

TEST_F(YamuxEnforcement, PingOnAStreamEndsTheSession) {
  EXPECT_EQ(server_violation({frame(frame_type::ping, flags::syn, 1, 0)}),
            "protocol error: ping frame names stream 1, it must name stream 0");
}

TEST_F(YamuxEnforcement, DataOnStreamZeroEndsTheSession) {
  EXPECT_EQ(server_violation({data_frame(0, 0, "x")}),
            "protocol error: data frame names stream 0, which is reserved for the session");
}

TEST_F(YamuxEnforcement, PeerOpeningAnIdOfOurParityEndsTheSession) {
  EXPECT_EQ(server_violation({frame(frame_type::window_update, flags::syn, 2, 0)}),
            "protocol error: peer opened stream 2, but even ids are ours to open");
  EXPECT_EQ(violation(role::client, {frame(frame_type::window_update, flags::syn, 1, 0)}),
            "protocol error: peer opened stream 1, but odd ids are ours to open");
}

TEST_F(YamuxEnforcement, FrameOnAPeerStreamNeverOpenedEndsTheSession) {
  EXPECT_EQ(server_violation({data_frame(0, 7, "x")}),
            "protocol error: peer sent a data frame on stream 7, which was never opened");
}

TEST_F(YamuxEnforcement, FrameOnASkippedPeerIdEndsTheSession) {
  EXPECT_EQ(
      server_violation({frame(frame_type::window_update, flags::syn, 5, 0), frame(frame_type::window_update, 0, 3, 0)}),
      "protocol error: peer sent a window update frame on stream 3, which was never opened");
}

TEST_F(YamuxEnforcement, FrameOnOurStreamNeverOpenedEndsTheSession) {
  EXPECT_EQ(violation(role::client, {frame(frame_type::window_update, flags::ack, 1, 0)}),
            "protocol error: peer sent a window update frame on stream 1, which was never opened");
}

TEST_F(YamuxEnforcement, DuplicateSynEndsTheSession) {
  EXPECT_EQ(server_violation({frame(frame_type::window_update, flags::syn, 1, 0),
                              frame(frame_type::window_update, flags::syn, 1, 0)}),
            "protocol error: peer opened stream 1, which is already open");
}

TEST_F(YamuxEnforcement, ReusedStreamIdEndsTheSession) {
  EXPECT_EQ(server_violation({frame(frame_type::window_update, flags::syn, 1, 0),
                              frame(frame_type::window_update, flags::rst, 1, 0),
                              frame(frame_type::window_update, flags::syn, 1, 0)}),
            "protocol error: peer opened stream 1 again; stream ids are never reused");
}

TEST_F(YamuxEnforcement, DataBeyondTheWindowEndsTheSession) {
  EXPECT_EQ(server_violation({frame(frame_type::window_update, flags::syn, 1, 0),
                              frame(frame_type::data, 0, 1, initial_stream_window + 1)}),
            "protocol error: peer sent 262145 bytes on stream 1, more than its window of 262144");
}

TEST_F(YamuxEnforcement, DataOverrunAcrossFramesEndsTheSession) {
  const bytes chunk(200 * 1024, 'x');
  EXPECT_EQ(server_violation({frame(frame_type::window_update, flags::syn, 1, 0),
                              frame(frame_type::data, 0, 1, static_cast<std::uint32_t>(chunk.size()), chunk),
                              frame(frame_type::data, 0, 1, static_cast<std::uint32_t>(chunk.size()), chunk)}),
            "protocol error: peer sent 204800 bytes on stream 1, more than its window of 57344");
}

TEST_F(YamuxEnforcement, DataAfterThePeersFinEndsTheSession) {
  EXPECT_EQ(
      server_violation({frame(frame_type::window_update, flags::syn | flags::fin, 1, 0), data_frame(0, 1, "late")}),
      "protocol error: peer sent 4 bytes on stream 1 after closing it (state remote-close)");
}

TEST_F(YamuxEnforcement, SecondFinEndsTheSession) {
  EXPECT_EQ(server_violation({frame(frame_type::window_update, flags::syn | flags::fin, 1, 0),
                              frame(frame_type::window_update, flags::fin, 1, 0)}),
            "protocol error: peer sent FIN on stream 1 in state remote-close");
}

TEST_F(YamuxEnforcement, SendWindowPast32BitsEndsTheSession) {
  EXPECT_EQ(server_violation({frame(frame_type::window_update, flags::syn, 1, 0),
                              frame(frame_type::window_update, 0, 1, UINT32_MAX)}),
            "protocol error: peer's window update of 4294967295 on stream 1 takes the send window past 2^32-1 bytes");
}

TEST_F(YamuxEnforcement, PeersProtocolErrorGoAwayEndsTheSessionWithoutReply) {
  session s(role::client, config{}, now);
  s.receive(protocol_error_go_away, now);
  EXPECT_TRUE(s.ended());
  EXPECT_EQ(s.end_reason(), "peer sent go-away: protocol error");
  EXPECT_TRUE(s.pending_output().empty());
}

TEST_F(YamuxEnforcement, UnknownGoAwayCodeEndsTheSession) {
  session s(role::client, config{}, now);
  s.receive(frame(frame_type::go_away, 0, 0, 77), now);
  EXPECT_EQ(s.end_reason(), "peer sent go-away: unknown code 77");
}

}  // namespace
}  // namespace s2s::yamux
