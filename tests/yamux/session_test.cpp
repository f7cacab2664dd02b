// Two session cores wired back to back: streams, windows, half-close, reset, ping, go-away, timers.
#include "yamux/session.hpp"

#include <gtest/gtest.h>

#include "session_link.hpp"

namespace s2s::yamux {
namespace {

using namespace std::chrono_literals;
using namespace s2s::yamux::testing;

TEST(YamuxSession, ClientOpensOddIdsAndServerEvenIds) {
  session_link link;
  EXPECT_EQ(link.client.open_stream(link.now).id, 1u);
  EXPECT_EQ(link.client.open_stream(link.now).id, 3u);
  EXPECT_EQ(link.server.open_stream(link.now).id, 2u);
  EXPECT_EQ(link.server.open_stream(link.now).id, 4u);
}

TEST(YamuxSession, OpeningSendsASynWindowUpdate) {
  session_link link;
  link.client.open_stream(link.now);
  EXPECT_EQ(take_output(link.client), frame(frame_type::window_update, flags::syn, 1, 0));
}

TEST(YamuxSession, PeerOpenedStreamWaitsInTheBacklogUntilAccepted) {
  session_link link;
  const auto id = link.client.open_stream(link.now).id;
  link.pump();
  ASSERT_EQ(only<stream_incoming>(link.server_events).size(), 1u);
  EXPECT_EQ(only<stream_incoming>(link.server_events)[0].id, id);
  EXPECT_EQ(link.server.backlog_size(), 1u);
  EXPECT_EQ(link.client.find(id)->state(), stream_state::syn_sent);

  EXPECT_EQ(link.server.accept_stream(), id);
  EXPECT_EQ(take_output(link.server), frame(frame_type::window_update, flags::ack, id, 0));
  EXPECT_EQ(link.server.backlog_size(), 0u);
  EXPECT_FALSE(link.server.accept_stream());
}

TEST(YamuxSession, AcceptedStreamIsEstablishedOnBothSides) {
  session_link link;
  const auto id = link.open_accepted();
  ASSERT_EQ(only<stream_established>(link.client_events).size(), 1u);
  EXPECT_EQ(link.client.find(id)->state(), stream_state::established);
  EXPECT_EQ(link.server.find(id)->state(), stream_state::established);
}

TEST(YamuxSession, DataFlowsBothWays) {
  session_link link;
  const auto id = link.open_accepted();
  link.write_all(link.client, id, "hello server");
  EXPECT_EQ(only<stream_readable>(link.server_events).size(), 1u);
  EXPECT_EQ(link.read_all(link.server, id), "hello server");
  link.write_all(link.server, id, "hello client");
  EXPECT_EQ(link.read_all(link.client, id), "hello client");
}

TEST(YamuxSession, DataMayFollowTheSynBeforeTheAck) {
  session_link link;
  const auto id = link.client.open_stream(link.now).id;
  link.write_all(link.client, id, "early");
  EXPECT_EQ(link.read_all(link.server, id), "early");
  EXPECT_EQ(link.server.accept_stream(), id);
}

TEST(YamuxSession, ReadableIsReportedOnlyWhenTheBufferWasEmpty) {
  session_link link;
  const auto id = link.open_accepted();
  link.write_all(link.client, id, "a");
  link.write_all(link.client, id, "b");
  EXPECT_EQ(only<stream_readable>(link.server_events).size(), 1u);
  EXPECT_EQ(link.read_all(link.server, id), "ab");
  link.write_all(link.client, id, "c");
  EXPECT_EQ(only<stream_readable>(link.server_events).size(), 2u);
}

TEST(YamuxSession, TransferBeyondTheWindowWaitsForWindowUpdates) {
  session_link link;
  const auto id = link.open_accepted();
  const bytes payload(1024 * 1024 + 17, 'z');
  std::size_t sent = link.client.write(id, payload);
  EXPECT_EQ(sent, initial_stream_window);
  EXPECT_EQ(link.client.write(id, std::span(payload).subspan(sent)), 0u);  // window exhausted
  link.pump();

  std::size_t received = 0;
  for (int round = 0; round < 100 && received < payload.size(); ++round) {
    received += link.read_all(link.server, id).size();  // reading grants window back
    sent += link.client.write(id, std::span(payload).subspan(sent));
    link.pump();
  }
  EXPECT_EQ(received, payload.size());
  EXPECT_EQ(sent, payload.size());
  EXPECT_GE(only<stream_writable>(link.client_events).size(), 3u);
}

TEST(YamuxSession, WindowUpdateIsSentOnlyAfterHalfTheWindowIsRead) {
  session_link link;
  const auto id = link.open_accepted();
  link.write_all(link.client, id, std::string(100 * 1024, 'x'));
  link.server.consume(id, 100 * 1024);
  EXPECT_TRUE(link.server.pending_output().empty());
  link.write_all(link.client, id, std::string(28 * 1024, 'y'));
  link.server.consume(id, 28 * 1024);
  EXPECT_EQ(take_output(link.server), frame(frame_type::window_update, 0, id, 128 * 1024));
}

TEST(YamuxSession, LargerConfiguredWindowIsGrantedWithSynAndAck) {
  config big;
  big.max_stream_window = 1024 * 1024;
  session_link link(big, big);
  const auto id = link.client.open_stream(link.now).id;
  EXPECT_EQ(take_output(link.client), frame(frame_type::window_update, flags::syn, id, 768 * 1024));
  link.server.receive(frame(frame_type::window_update, flags::syn, id, 768 * 1024), link.now);
  link.server.accept_stream();
  link.pump();
  EXPECT_EQ(link.server.find(id)->send_window(), 1024u * 1024);
  EXPECT_EQ(link.client.find(id)->send_window(), 1024u * 1024);
  EXPECT_EQ(link.client.write(id, bytes(2 * 1024 * 1024, 1)), 1024u * 1024);
}

TEST(YamuxSession, HalfCloseLetsTheOtherDirectionContinue) {
  session_link link;
  const auto id = link.open_accepted();
  EXPECT_TRUE(link.client.close(id, link.now));
  link.pump();
  EXPECT_EQ(only<stream_remote_closed>(link.server_events).size(), 1u);
  EXPECT_EQ(link.client.write(id, bytes{1}), 0u);  // our side is closed for writing
  link.write_all(link.server, id, "still flowing");
  EXPECT_EQ(link.read_all(link.client, id), "still flowing");
  EXPECT_TRUE(link.server.close(id, link.now));
  link.pump();
  EXPECT_EQ(only<stream_closed>(link.client_events).size(), 1u);
  EXPECT_EQ(only<stream_closed>(link.server_events).size(), 1u);
  EXPECT_EQ(link.client.stream_count(), 0u);
  EXPECT_EQ(link.server.stream_count(), 0u);
}

TEST(YamuxSession, DataBufferedBeforeFinStaysReadableUntilRead) {
  session_link link;
  const auto id = link.open_accepted();
  link.client.write(id, bytes{'l', 'a', 's', 't'});
  link.client.close(id, link.now);
  link.server.close(id, link.now);
  link.pump();
  ASSERT_NE(link.server.find(id), nullptr);
  EXPECT_EQ(link.server.find(id)->state(), stream_state::closed);
  EXPECT_TRUE(only<stream_closed>(link.server_events).empty());
  EXPECT_EQ(link.read_all(link.server, id), "last");
  EXPECT_EQ(only<stream_closed>(link.server_events).size(), 1u);
  EXPECT_EQ(link.server.find(id), nullptr);
}

TEST(YamuxSession, RemoteCloseIsReportedAfterTheDataItCarried) {
  session_link link;
  const auto id = link.open_accepted();
  link.server.receive(data_frame(flags::fin, id, "bye"), link.now);
  const auto events = drain_events(link.server);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<stream_readable>(events[0]));
  EXPECT_TRUE(std::holds_alternative<stream_remote_closed>(events[1]));
}

TEST(YamuxSession, ResetDropsTheStreamOnBothSides) {
  session_link link;
  const auto id = link.open_accepted();
  link.write_all(link.server, id, "unread");
  EXPECT_TRUE(link.client.reset(id));
  EXPECT_EQ(take_output(link.client), frame(frame_type::window_update, flags::rst, id, 0));
  link.server.receive(frame(frame_type::window_update, flags::rst, id, 0), link.now);
  link.collect();
  ASSERT_EQ(only<stream_reset>(link.server_events).size(), 1u);
  EXPECT_TRUE(only<stream_reset>(link.server_events)[0].by_peer);
  EXPECT_EQ(link.server.write(id, bytes{1}), 0u);
  EXPECT_EQ(link.client.find(id), nullptr);
  EXPECT_FALSE(link.client.reset(id));
}

TEST(YamuxSession, FramesForAStreamAlreadyResetAreIgnored) {
  session_link link;
  const auto id = link.open_accepted();
  link.client.reset(id);
  link.write_all(link.server, id, "in flight");  // crosses the RST
  link.server.close(id, link.now);
  link.pump();
  EXPECT_FALSE(link.client.ended());
  EXPECT_FALSE(link.server.ended());
}

TEST(YamuxSession, ResetOfAnUnacceptedStreamRefusesIt) {
  session_link link;
  const auto id = link.client.open_stream(link.now).id;
  link.pump();
  EXPECT_TRUE(link.server.reset(id));
  EXPECT_FALSE(link.server.accept_stream());
  link.pump();
  ASSERT_EQ(only<stream_reset>(link.client_events).size(), 1u);
  EXPECT_EQ(only<stream_reset>(link.client_events)[0].id, id);
}

TEST(YamuxSession, BacklogOverflowResetsTheExtraStream) {
  config small;
  small.accept_backlog = 2;
  session_link link({}, small);
  link.client.open_stream(link.now);
  link.client.open_stream(link.now);
  const auto third = link.client.open_stream(link.now).id;
  link.pump();
  EXPECT_EQ(link.server.backlog_size(), 2u);
  ASSERT_EQ(only<stream_reset>(link.client_events).size(), 1u);
  EXPECT_EQ(only<stream_reset>(link.client_events)[0].id, third);
  EXPECT_EQ(link.server.accept_stream(), 1u);
  EXPECT_EQ(link.server.accept_stream(), 3u);
  EXPECT_FALSE(link.server.accept_stream());
}

TEST(YamuxSession, OpensAwaitingAcknowledgementAreLimitedByTheBacklog) {
  config small;
  small.accept_backlog = 2;
  session_link link(small, {});
  EXPECT_TRUE(link.client.open_stream(link.now));
  EXPECT_TRUE(link.client.open_stream(link.now));
  const auto refused = link.client.open_stream(link.now);
  EXPECT_FALSE(refused);
  EXPECT_EQ(refused.error, "2 opened streams already await the peer's acknowledgement");
  link.pump();
  link.server.accept_stream();
  link.pump();
  EXPECT_TRUE(link.client.open_stream(link.now));
}

TEST(YamuxSession, PingReportsTheRoundTripTime) {
  session_link link;
  const auto id = link.client.ping(link.now);
  EXPECT_EQ(take_output(link.client), frame(frame_type::ping, flags::syn, 0, id));
  link.server.receive(frame(frame_type::ping, flags::syn, 0, id), link.now);
  EXPECT_EQ(take_output(link.server), frame(frame_type::ping, flags::ack, 0, id));
  link.client.receive(frame(frame_type::ping, flags::ack, 0, id), link.now + 5ms);
  const auto acks = only<ping_acknowledged>(drain_events(link.client));
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].ping_id, id);
  EXPECT_EQ(acks[0].round_trip, 5ms);
}

TEST(YamuxSession, UnansweredPingTimesOutWithoutEndingTheSession) {
  session_link link;
  const auto id = link.client.ping(link.now);
  link.now += 10s;
  link.client.tick(link.now);
  const auto events = drain_events(link.client);
  ASSERT_EQ(only<ping_timed_out>(events).size(), 1u);
  EXPECT_EQ(only<ping_timed_out>(events)[0].ping_id, id);
  EXPECT_FALSE(link.client.ended());
  link.client.receive(frame(frame_type::ping, flags::ack, 0, id), link.now);  // too late: ignored
  EXPECT_TRUE(drain_events(link.client).empty());
}

TEST(YamuxSession, KeepalivePingsEveryIntervalAndStaysUpWhenAnswered) {
  session_link link;
  EXPECT_EQ(link.client.next_deadline(), link.now + 30s);
  link.now += 29s;
  link.tick_both();
  EXPECT_TRUE(link.client.pending_output().empty());
  for (int i = 0; i < 3; ++i) {
    link.now += 30s;
    link.tick_both();
    link.pump();
  }
  EXPECT_EQ(only<ping_acknowledged>(link.client_events).size(), 3u);
  EXPECT_EQ(only<ping_acknowledged>(link.server_events).size(), 3u);
  EXPECT_FALSE(link.client.ended());
  EXPECT_FALSE(link.server.ended());
}

TEST(YamuxSession, KeepaliveWithoutReplyEndsTheSession) {
  session_link link;
  link.now += 30s;
  link.client.tick(link.now);
  EXPECT_EQ(take_output(link.client), frame(frame_type::ping, flags::syn, 0, 0));
  EXPECT_EQ(link.client.next_deadline(), link.now + 10s);
  link.now += 10s;
  link.client.tick(link.now);
  EXPECT_TRUE(link.client.ended());
  EXPECT_EQ(link.client.end_reason(), "keepalive failed: no reply to ping 0 within 10000 ms");
  EXPECT_EQ(only<session_ended>(drain_events(link.client)).size(), 1u);
  EXPECT_FALSE(link.client.next_deadline());
}

TEST(YamuxSession, KeepaliveCanBeTurnedOff) {
  config quiet;
  quiet.enable_keepalive = false;
  session_link link(quiet, quiet);
  EXPECT_FALSE(link.client.next_deadline());
  link.now += 1h;
  link.client.tick(link.now);
  EXPECT_TRUE(link.client.pending_output().empty());
}

TEST(YamuxSession, GoAwayNormalStopsNewStreamsButKeepsExistingOnes) {
  session_link link;
  const auto id = link.open_accepted();
  link.server.go_away(go_away_code::normal);
  EXPECT_EQ(take_output(link.server), frame(frame_type::go_away, 0, 0, 0));
  link.client.receive(frame(frame_type::go_away, 0, 0, 0), link.now);
  link.collect();
  ASSERT_EQ(only<go_away_received>(link.client_events).size(), 1u);
  EXPECT_EQ(only<go_away_received>(link.client_events)[0].code, go_away_code::normal);
  EXPECT_TRUE(link.client.peer_went_away());
  const auto refused = link.client.open_stream(link.now);
  EXPECT_FALSE(refused);
  EXPECT_EQ(refused.error, "the peer sent go-away and accepts no new streams");
  link.write_all(link.client, id, "still works");
  EXPECT_EQ(link.read_all(link.server, id), "still works");
  EXPECT_FALSE(link.client.ended());
}

TEST(YamuxSession, AfterOurGoAwayIncomingStreamsAreReset) {
  session_link link;
  link.server.go_away(go_away_code::normal);
  take_output(link.server);  // the client has not seen it yet and opens a stream
  const auto id = link.client.open_stream(link.now).id;
  link.pump();
  ASSERT_EQ(only<stream_reset>(link.client_events).size(), 1u);
  EXPECT_EQ(only<stream_reset>(link.client_events)[0].id, id);
  EXPECT_TRUE(only<stream_incoming>(link.server_events).empty());
}

TEST(YamuxSession, GoAwayWithAnErrorCodeEndsBothSessions) {
  session_link link;
  link.open_accepted();
  link.server.go_away(go_away_code::internal_error);
  EXPECT_TRUE(link.server.ended());
  EXPECT_EQ(link.server.end_reason(), "we sent go-away: internal error");
  link.pump();
  EXPECT_TRUE(link.client.ended());
  EXPECT_EQ(link.client.end_reason(), "peer sent go-away: internal error");
  EXPECT_EQ(only<go_away_received>(link.client_events)[0].code, go_away_code::internal_error);
  EXPECT_EQ(link.client.stream_count(), 0u);
}

TEST(YamuxSession, UnacknowledgedOpenEndsTheSessionAfterTheOpenTimeout) {
  session_link link;
  link.client.open_stream(link.now);
  EXPECT_EQ(link.client.next_deadline(), link.now + 30s);  // keepalive comes first
  link.now += 75s;
  link.client.consume_output(link.client.pending_output().size());
  link.client.tick(link.now);
  EXPECT_TRUE(link.client.ended());
  EXPECT_EQ(link.client.end_reason(), "stream 1 was not acknowledged by the peer within 75000 ms");
}

TEST(YamuxSession, HalfClosedStreamIsResetWhenThePeerNeverCloses) {
  session_link link;
  const auto id = link.open_accepted();
  link.client.close(id, link.now);
  link.pump();
  link.now += 5min;
  link.client.tick(link.now);
  EXPECT_EQ(take_output(link.client).size(), 2 * header_size);  // keepalive ping and the RST
  const auto resets = only<stream_reset>(drain_events(link.client));
  ASSERT_EQ(resets.size(), 1u);
  EXPECT_FALSE(resets[0].by_peer);
  EXPECT_EQ(link.client.find(id), nullptr);
  EXPECT_FALSE(link.client.ended());
}

TEST(YamuxSession, StalledTransportEndsTheSessionAfterTheWriteTimeout) {
  session_link link;
  link.client.ping(link.now);
  link.client.tick(link.now);
  link.now += 5s;
  link.client.consume_output(4);  // some progress restarts the clock
  link.client.tick(link.now);
  link.now += 9s;
  link.client.tick(link.now);
  EXPECT_FALSE(link.client.ended());
  link.now += 1s;
  link.client.tick(link.now);
  EXPECT_TRUE(link.client.ended());
  EXPECT_EQ(link.client.end_reason(),
            "connection write timeout: the transport took none of 8 queued bytes in 10000 ms");
}

TEST(YamuxSession, EndedSessionDropsStreamsAndRefusesCommands) {
  session_link link;
  const auto id = link.open_accepted();
  link.client.end("transport closed");
  EXPECT_EQ(only<session_ended>(drain_events(link.client))[0].reason, "transport closed");
  EXPECT_EQ(link.client.stream_count(), 0u);
  EXPECT_EQ(link.client.write(id, bytes{1}), 0u);
  EXPECT_EQ(link.client.open_stream(link.now).error, "the session has ended: transport closed");
  link.client.receive(frame(frame_type::ping, flags::syn, 0, 1), link.now);
  EXPECT_TRUE(link.client.pending_output().empty());
}

TEST(YamuxSession, SynCarriedOnADataFrameOpensTheStreamWithItsPayload) {
  session_link link;
  link.client.receive(data_frame(flags::syn, 2, "hi"), link.now);
  const auto events = drain_events(link.client);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(std::get<stream_incoming>(events[0]).id, 2u);
  EXPECT_EQ(std::get<stream_readable>(events[1]).id, 2u);
  EXPECT_EQ(text_of(link.client.readable(2)), "hi");
}

TEST(YamuxSession, SynsOfConcurrentOpensMayArriveOutOfOrder) {
  session_link link;
  link.server.receive(frame(frame_type::window_update, flags::syn, 5, 0), link.now);
  link.server.receive(frame(frame_type::window_update, flags::syn, 1, 0), link.now);
  link.server.receive(frame(frame_type::window_update, flags::syn, 3, 0), link.now);
  EXPECT_FALSE(link.server.ended()) << link.server.end_reason();
  EXPECT_EQ(link.server.backlog_size(), 3u);
}

TEST(YamuxSession, WriteMayBeCalledBeforeAcceptAndCarriesTheAck) {
  session_link link;
  const auto id = link.client.open_stream(link.now).id;
  link.pump();
  const bytes reply{'o', 'k'};
  EXPECT_EQ(link.server.write(id, reply), 2u);
  EXPECT_EQ(take_output(link.server), frame(frame_type::data, flags::ack, id, 2, reply));
  EXPECT_EQ(link.server.backlog_size(), 0u);
}

}  // namespace
}  // namespace s2s::yamux
