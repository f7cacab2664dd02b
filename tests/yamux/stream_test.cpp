// The stream state machine and its window accounting, without a session.
#include "yamux/stream.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace s2s::yamux {
namespace {

const std::vector<std::uint8_t> kilobyte(1024, 'x');

void receive_kib(stream& s, int count) {
  for (int i = 0; i < count; ++i)
    s.on_data(kilobyte);
}

TEST(YamuxStream, OpenedStreamIsEstablishedByAck) {
  stream s(1, stream_state::syn_sent);
  const auto outcome = s.on_flags(flags::ack);
  EXPECT_TRUE(outcome.established);
  EXPECT_EQ(s.state(), stream_state::established);
}

TEST(YamuxStream, AcceptedStreamSendsAckOnlyOnce) {
  stream s(2, stream_state::syn_received);
  EXPECT_EQ(s.take_open_flags(), flags::ack);
  EXPECT_EQ(s.state(), stream_state::established);
  EXPECT_EQ(s.take_open_flags(), 0);
}

TEST(YamuxStream, FinThenLocalCloseClosesTheStream) {
  stream s(1, stream_state::established);
  EXPECT_TRUE(s.on_flags(flags::fin).remote_closed);
  EXPECT_EQ(s.state(), stream_state::remote_close);
  EXPECT_TRUE(s.can_send_data());
  EXPECT_TRUE(s.close_local());
  EXPECT_EQ(s.state(), stream_state::closed);
  EXPECT_TRUE(s.finished());
}

TEST(YamuxStream, LocalCloseThenFinClosesTheStream) {
  stream s(1, stream_state::established);
  EXPECT_TRUE(s.close_local());
  EXPECT_FALSE(s.can_send_data());
  EXPECT_FALSE(s.close_local());
  EXPECT_TRUE(s.on_flags(flags::fin).remote_closed);
  EXPECT_EQ(s.state(), stream_state::closed);
}

TEST(YamuxStream, ClosedStreamWithUnreadDataIsNotFinished) {
  stream s(1, stream_state::established);
  receive_kib(s, 1);
  s.on_flags(flags::fin);
  s.close_local();
  EXPECT_FALSE(s.finished());
  s.consume(1024);
  EXPECT_TRUE(s.finished());
}

TEST(YamuxStream, SecondFinIsAProtocolError) {
  stream s(1, stream_state::established);
  s.on_flags(flags::fin);
  EXPECT_EQ(s.on_flags(flags::fin).error, "peer sent FIN on stream 1 in state remote-close");
}

TEST(YamuxStream, RstResetsFromAnyState) {
  stream s(3, stream_state::local_close);
  EXPECT_TRUE(s.on_flags(flags::rst).reset);
  EXPECT_EQ(s.state(), stream_state::reset);
  EXPECT_TRUE(s.finished());
  EXPECT_FALSE(s.can_send_data());
}

TEST(YamuxStream, DataBeyondTheReceiveWindowIsRefused) {
  stream s(1, stream_state::established);
  EXPECT_FALSE(s.check_incoming_data(initial_stream_window));
  receive_kib(s, 1);
  EXPECT_EQ(s.check_incoming_data(initial_stream_window),
            "peer sent 262144 bytes on stream 1, more than its window of 261120");
}

TEST(YamuxStream, DataAfterThePeersFinIsRefused) {
  stream s(1, stream_state::established);
  s.on_flags(flags::fin);
  EXPECT_TRUE(s.check_incoming_data(1));
  EXPECT_FALSE(s.check_incoming_data(0));
}

TEST(YamuxStream, WindowUpdateWaitsUntilHalfTheWindowWasRead) {
  stream s(1, stream_state::established);
  receive_kib(s, 200);
  s.consume(100 * 1024);
  EXPECT_FALSE(s.take_window_update(initial_stream_window, false));
  s.consume(28 * 1024);
  EXPECT_EQ(s.take_window_update(initial_stream_window, false), 128u * 1024);
  EXPECT_EQ(s.buffered(), 72u * 1024);
}

TEST(YamuxStream, ForcedUpdateGrowsTheWindowToTheConfiguredMaximum) {
  stream s(1, stream_state::syn_sent);
  EXPECT_EQ(s.take_window_update(1024 * 1024, true), 768u * 1024);
  EXPECT_FALSE(s.check_incoming_data(1024 * 1024));
  EXPECT_EQ(s.take_window_update(1024 * 1024, true), 0u);
}

TEST(YamuxStream, SendWindowGrowsWithUpdatesAndShrinksWithData) {
  stream s(1, stream_state::established);
  s.on_data_sent(initial_stream_window);
  EXPECT_EQ(s.send_window(), 0u);
  EXPECT_FALSE(s.on_window_update(500));
  EXPECT_EQ(s.send_window(), 500u);
}

TEST(YamuxStream, SendWindowPast32BitsIsAProtocolError) {
  stream s(1, stream_state::established);
  EXPECT_TRUE(s.on_window_update(UINT32_MAX));
  EXPECT_EQ(s.send_window(), initial_stream_window);
}

TEST(YamuxStream, ReadableDataSurvivesCompaction) {
  stream s(1, stream_state::established);
  std::vector<std::uint8_t> expected;
  for (int i = 0; i < 10; ++i) {
    const std::vector<std::uint8_t> chunk(1000, static_cast<std::uint8_t>(i));
    s.on_data(chunk);
    expected.insert(expected.end(), chunk.begin(), chunk.end());
    s.consume(700);
    expected.erase(expected.begin(), expected.begin() + 700);
    ASSERT_EQ(std::vector<std::uint8_t>(s.readable().begin(), s.readable().end()), expected);
  }
}

}  // namespace
}  // namespace s2s::yamux
