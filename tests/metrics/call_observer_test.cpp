// The call observer alone: labels from the listener's name and the method, batching of message
// counts, status codes, the bound on distinct methods.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "metrics/call_metrics.hpp"

namespace s2s::metrics {
namespace {

// The test's clock: the time the message counts are flushed by, moved by hand.
std::chrono::steady_clock::time_point test_now;
std::chrono::steady_clock::time_point test_clock() { return test_now; }

class CallObserver : public ::testing::Test {
 protected:
  prometheus::Registry registry;
  call_metrics calls{registry};
  actor_metrics actors{registry};
  std::shared_ptr<actors::call_observer> observer = make_call_observer(calls, actors, "a-to-b outbound", &test_clock);

  std::unique_ptr<actors::call_probe> start(const std::string& method) {
    actors::call_info info;
    info.method = method;
    return observer->call_started(info);
  }

  prometheus::Labels labels(const std::string& service, const std::string& method) {
    return {{"connection", "a-to-b"}, {"direction", "outbound"}, {"grpc_service", service}, {"grpc_method", method}};
  }
};

TEST_F(CallObserver, LabelsComeFromTheListenerNameAndTheMethodPath) {
  auto probe = start("/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution");
  auto expected = labels("temporal.api.workflowservice.v1.WorkflowService", "StartWorkflowExecution");
  EXPECT_EQ(calls.started.Add(expected).Value(), 1);
  EXPECT_EQ(actors.live_of("call").Value(), 1);
  probe->ended(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "no"));
  auto denied = expected;
  denied["grpc_code"] = "PERMISSION_DENIED";
  EXPECT_EQ(calls.handled.Add(denied).Value(), 1);
  probe->actor_ended(5, true);
  probe.reset();
  EXPECT_EQ(actors.live_of("call").Value(), 0);
  EXPECT_EQ(actors.processed_of("call").Value(), 5);
  EXPECT_EQ(actors.failures_of("call").Value(), 1);
}

TEST_F(CallObserver, MessageCountsArriveInBatchesAndInFullWhenTheCallEnds) {
  auto probe = start("/pkg.Service/Stream");
  auto server = labels("pkg.Service", "Stream");
  server["side"] = "server";
  auto client = labels("pkg.Service", "Stream");
  client["side"] = "client";
  for (int i = 0; i < 70; ++i)
    probe->message(actors::call_hop::from_caller);
  EXPECT_EQ(calls.messages_received.Add(server).Value(), message_batch);
  for (int i = 0; i < 3; ++i)
    probe->message(actors::call_hop::to_upstream);
  probe->message(actors::call_hop::from_upstream);
  probe->message(actors::call_hop::to_caller);
  probe->ended(grpc::Status::OK);
  EXPECT_EQ(calls.messages_received.Add(server).Value(), 70);
  EXPECT_EQ(calls.messages_sent.Add(client).Value(), 3);
  EXPECT_EQ(calls.messages_received.Add(client).Value(), 1);
  EXPECT_EQ(calls.messages_sent.Add(server).Value(), 1);
}

TEST_F(CallObserver, AQuietStreamsMessagesShowOnceASecondHasPassed) {
  auto timed = make_call_observer(calls, actors, "a-to-b inbound", &test_clock);
  actors::call_info info;
  info.method = "/pkg.Service/Quiet";
  auto probe = timed->call_started(info);
  prometheus::Labels server{{"connection", "a-to-b"},
                            {"direction", "inbound"},
                            {"grpc_service", "pkg.Service"},
                            {"grpc_method", "Quiet"},
                            {"side", "server"}};
  auto& received = calls.messages_received.Add(server);
  test_now += std::chrono::milliseconds(400);
  probe->message(actors::call_hop::from_caller);  // within a second of the call's start: held
  EXPECT_EQ(received.Value(), 0);
  test_now += message_lag;
  probe->message(actors::call_hop::from_caller);  // a second after: both show
  EXPECT_EQ(received.Value(), 2);
  test_now += message_lag / 2;
  probe->message(actors::call_hop::from_caller);
  EXPECT_EQ(received.Value(), 2);
  test_now += message_lag / 2;
  probe->message(actors::call_hop::from_caller);
  EXPECT_EQ(received.Value(), 4);
  probe->ended(grpc::Status::OK);
  EXPECT_EQ(received.Value(), 4);
}

TEST_F(CallObserver, MethodsBeyondTheBoundCountAsOther) {
  for (std::size_t i = 0; i < max_labelled_methods + 10; ++i)
    start("/pkg.Service/Method" + std::to_string(i))->ended(grpc::Status::OK);
  EXPECT_EQ(calls.started.Add(labels("pkg.Service", "Method0")).Value(), 1);
  EXPECT_EQ(calls.started.Add(labels("other", "other")).Value(), 10);
}

TEST_F(CallObserver, ReplicationStreamsAreTrackedWhileOpen) {
  auto stream = start("/temporal.server.api.adminservice.v1.AdminService/StreamWorkflowReplicationMessages");
  prometheus::Labels outbound{{"connection", "a-to-b"}, {"direction", "outbound"}};
  EXPECT_EQ(calls.replication_streams_active.Add(outbound).Value(), 1);
  EXPECT_EQ(calls.replication_streams_opened.Add(outbound).Value(), 1);
  stream->ended(grpc::Status(grpc::StatusCode::UNAVAILABLE, "gone"));
  EXPECT_EQ(calls.replication_streams_active.Add(outbound).Value(), 0);
  auto closed = outbound;
  closed["grpc_code"] = "UNAVAILABLE";
  EXPECT_EQ(calls.replication_streams_closed.Add(closed).Value(), 1);
}

}  // namespace
}  // namespace s2s::metrics
