// Malformed protobuf in a message that needs translation ends the call with INVALID_ARGUMENT and a message
// saying what is wrong and where; types with nothing to translate are forwarded unparsed.
#include <gtest/gtest.h>

#include "temporal_messages.hpp"
#include "translation/wire.hpp"

namespace s2s::translation::testing {
namespace {

constexpr std::string_view stream_method =
    "/temporal.server.api.adminservice.v1.AdminService/StreamWorkflowReplicationMessages";
constexpr std::string_view start_method = "/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution";

filter_result translate_stream(std::string bytes) {
  return translate(test_connection(), stream_method, false, direction::remote_to_local, std::move(bytes)).result;
}

std::string replication_message(const std::string& blob_data) {
  auto m = make("temporal.server.api.adminservice.v1.StreamWorkflowReplicationMessagesResponse");
  pb::Message& task = add(*m, "messages.replication_tasks");
  set(task, "history_task_attributes.namespace_id", orders_id);
  pb::Message& blob = at(task, "history_task_attributes.events");
  set_enum(blob, "encoding_type", "ENCODING_TYPE_PROTO3");
  set(blob, "data", blob_data);
  return bytes_of(*m);
}

void expect_invalid(const filter_result& result, std::initializer_list<std::string_view> mentions) {
  ASSERT_TRUE(result.is_refused());
  EXPECT_EQ(result.refusal.code, status_code::invalid_argument);
  for (std::string_view text : mentions) {
    EXPECT_NE(result.refusal.message.find(std::string(text)), std::string::npos)
        << "'" << text << "' not in: " << result.refusal.message;
  }
}

TEST(MalformedInput, GarbageInsideAProto3HistoryBlobIsRefusedWithItsLocation) {
  filter_result result = translate_stream(replication_message("\x0a\x7f\x08\x01"));  // events: 127 bytes claimed
  expect_invalid(result, {"StreamWorkflowReplicationMessages", "malformed", "at byte",
                          "messages.replication_tasks.history_task_attributes.events.data as "
                          "temporal.api.history.v1.History",
                          "declares 127 bytes"});
}

TEST(MalformedInput, ALengthRunningPastTheEndIsRefused) {
  std::string bytes = replication_message(bytes_of(*make("temporal.api.history.v1.History")));
  bytes[1] = static_cast<char>(0x7f);  // the outer `messages` length
  expect_invalid(translate_stream(bytes), {"field 1 declares 127 bytes"});
}

TEST(MalformedInput, EveryTruncationIsEitherAValidPrefixOrRefusedNeverACrash) {
  auto history = make("temporal.api.history.v1.History");
  pb::Message& event = add(*history, "events");
  set(event, "signal_external_workflow_execution_initiated_event_attributes.namespace", "orders");
  std::string bytes = replication_message(bytes_of(*history));
  int refused = 0;
  for (std::size_t length = 0; length < bytes.size(); ++length) {
    filter_result result = translate_stream(bytes.substr(0, length));
    if (result.is_refused()) {
      ++refused;
      EXPECT_EQ(result.refusal.code, status_code::invalid_argument);
    }
  }
  EXPECT_GT(refused, 0);
}

TEST(MalformedInput, InvalidWireTypesAndFieldNumbersAreRefused) {
  expect_invalid(
      translate(test_connection(), start_method, true, direction::local_to_remote, std::string("\x0f\x01", 2)).result,
      {"invalid wire type 7"});
  expect_invalid(
      translate(test_connection(), start_method, true, direction::local_to_remote, std::string("\x02\x00", 2)).result,
      {"invalid field number 0"});
  expect_invalid(
      translate(test_connection(), start_method, true, direction::local_to_remote, std::string("\x0c", 1)).result,
      {"end-group"});
  expect_invalid(translate(test_connection(), start_method, true, direction::local_to_remote,
                           std::string("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12))
                     .result,
                 {"varint longer than 10 bytes"});
}

TEST(MalformedInput, NestingDeeperThanProtobufAllowsIsRefused) {
  // Failure.cause (field 4) nested 200 times, built on the wire.
  std::string failure;
  for (int i = 0; i < 200; ++i) {
    std::string outer;
    wire::append_tag(outer, 4, wire::wire_type::length_delimited);
    wire::append_varint(outer, failure.size());
    failure = outer + failure;
  }
  std::string request;
  wire::append_tag(request, 3, wire::wire_type::length_delimited);  // RespondWorkflowTaskFailedRequest.failure
  wire::append_varint(request, failure.size());
  request += failure;
  auto result =
      translate(test_connection(), "/temporal.api.workflowservice.v1.WorkflowService/RespondWorkflowTaskFailed", true,
                direction::local_to_remote, request);
  expect_invalid(result.result, {"nested deeper than 100"});
}

TEST(MalformedInput, UnknownGroupsAndFieldsOfUnexpectedWireTypeSurvive) {
  auto m = make("temporal.api.workflowservice.v1.StartWorkflowExecutionRequest");
  set(*m, "namespace", "orders");
  std::string bytes = bytes_of(*m);
  std::string extra;
  wire::append_tag(extra, 5000, wire::wire_type::start_group);
  wire::append_tag(extra, 1, wire::wire_type::varint);
  wire::append_varint(extra, 9);
  wire::append_tag(extra, 5000, wire::wire_type::end_group);
  wire::append_tag(extra, 9, wire::wire_type::varint);  // `identity` is a string; as a varint it is unknown
  wire::append_varint(extra, 3);
  auto out = translate(test_connection(), start_method, true, direction::local_to_remote, bytes + extra);
  ASSERT_FALSE(out.result.is_refused()) << out.result.refusal.message;
  set(*m, "namespace", "orders.acct42");
  EXPECT_EQ(out.bytes, bytes_of(*m) + extra);
}

TEST(MalformedInput, ATypeWithNothingToTranslateIsForwardedUnparsed) {
  const std::string garbage("\xff\xff\xff", 3);
  auto out = translate(test_connection(), "/temporal.server.api.adminservice.v1.AdminService/AddOrUpdateRemoteCluster",
                       false, direction::remote_to_local, garbage);
  EXPECT_EQ(out.result.what, filter_result::outcome::unchanged);
  EXPECT_EQ(out.bytes, garbage);
}

}  // namespace
}  // namespace s2s::translation::testing
