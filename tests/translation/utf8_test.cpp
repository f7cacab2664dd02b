// UTF-8 repair: invalid sequences in any string field, nested or inside a history blob, become U+FFFD.
#include <gtest/gtest.h>

#include "temporal_messages.hpp"
#include "translation/utf8.hpp"

namespace s2s::translation::testing {
namespace {

const std::string fffd = "\xEF\xBF\xBD";

struct repair_case {
  std::string input;
  std::string repaired;
  std::size_t replacements;
};

TEST(Utf8Repair, ReplacesEachMaximalInvalidSubpartWithOneReplacementCharacter) {
  const repair_case cases[] = {
      {"plain ascii", "plain ascii", 0},
      {"caf\xC3\xA9 \xE6\xBC\xA2 \xF0\x9F\x99\x82", "caf\xC3\xA9 \xE6\xBC\xA2 \xF0\x9F\x99\x82", 0},
      {"a\xC3(b", "a" + fffd + "(b", 1},                   // lead byte without continuation
      {"end\xE2\x82", "end" + fffd, 1},                    // truncated at the end: one maximal subpart
      {"x\xF0\x9F\x99y", "x" + fffd + "y", 1},             // truncated four-byte sequence
      {"\xC0\xAF", fffd + fffd, 2},                        // overlong: C0 is never valid
      {"\xE0\x80\xAF", fffd + fffd + fffd, 3},             // overlong three-byte form
      {"\xED\xA0\x80", fffd + fffd + fffd, 3},             // UTF-16 surrogate
      {"\xF4\x90\x80\x80", fffd + fffd + fffd + fffd, 4},  // above U+10FFFF
      {"\xFF\xFE", fffd + fffd, 2},
      {"\x80 lone continuation", fffd + " lone continuation", 1},
      {std::string("nul\0inside", 10), std::string("nul\0inside", 10), 0},
      {"long ascii prefix before the bad byte \xFE!", "long ascii prefix before the bad byte " + fffd + "!", 1},
  };
  for (const auto& c : cases) {
    std::string out = "untouched";
    EXPECT_EQ(repair_utf8(c.input, out), c.replacements) << c.input;
    EXPECT_EQ(is_valid_utf8(c.input), c.replacements == 0) << c.input;
    if (c.replacements == 0) {
      EXPECT_EQ(out, "untouched");
    } else {
      EXPECT_EQ(out, c.repaired) << c.input;
      EXPECT_TRUE(is_valid_utf8(out));
    }
  }
}

// Builds the same message with `bad` or with its repaired form in every string that holds text.
std::unique_ptr<pb::Message> start_request(const std::string& text) {
  auto m = make("temporal.api.workflowservice.v1.StartWorkflowExecutionRequest");
  set(*m, "namespace", "payments");
  set(*m, "workflow_id", "order-" + text);
  set(*m, "workflow_type.name", "Process" + text);
  set(*m, "identity", text);
  set_payload(put(*m, "memo.fields", "note" + text), "bytes keep \xFF invalid bytes");
  set(*m, "continued_failure.message", "failed: " + text);
  set(*m, "continued_failure.cause.cause.message", "deep " + text);
  set(add(*m, "links"), "workflow_event.workflow_id", text);
  return m;
}
constexpr std::uint32_t strings_in_start_request = 7;

TEST(Utf8Repair, InvalidSequencesInNestedStringsAreRepairedAndNothingElseChanges) {
  const std::string bad = "\xC3(\xFF";
  const std::string good = fffd + "(" + fffd;
  std::string bytes = bytes_of(*start_request(bad));
  std::string expected = bytes_of(*start_request(good));
  auto out = translate(test_connection(), "/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution",
                       true, direction::local_to_remote, bytes);
  ASSERT_FALSE(out.result.is_refused()) << out.result.refusal.message;
  EXPECT_TRUE(out.result.is_changed());
  EXPECT_EQ(out.bytes, expected) << first_difference(out.bytes, expected);
  EXPECT_EQ(out.result.counts.utf8_repairs, 2 * strings_in_start_request);
}

std::unique_ptr<pb::Message> replication_response(const std::string& text) {
  auto history = make("temporal.api.history.v1.History");
  pb::Message& scheduled = add(*history, "events");
  set_int(scheduled, "event_id", 5);
  set_enum(scheduled, "event_type", "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED");
  set(scheduled, "activity_task_scheduled_event_attributes.activity_id", "5");
  set(scheduled, "activity_task_scheduled_event_attributes.activity_type.name", "Charge" + text);
  pb::Message& failed = add(*history, "events");
  set_int(failed, "event_id", 6);
  set_enum(failed, "event_type", "EVENT_TYPE_ACTIVITY_TASK_FAILED");
  set(failed, "activity_task_failed_event_attributes.failure.message", "card declined " + text);
  set(failed, "activity_task_failed_event_attributes.identity", "worker");

  auto m = make("temporal.server.api.adminservice.v1.StreamWorkflowReplicationMessagesResponse");
  pb::Message& task = add(*m, "messages.replication_tasks");
  set_enum(task, "task_type", "REPLICATION_TASK_TYPE_HISTORY_V2_TASK");
  set(task, "history_task_attributes.namespace_id", orders_id);
  set(task, "history_task_attributes.workflow_id", "order-1");
  set_history_blob(at(task, "history_task_attributes.events"), *history);
  set_int(*m, "messages.exclusive_high_watermark", 7);
  return m;
}

TEST(Utf8Repair, InvalidSequencesInsideAHistoryBlobAreRepairedAndTheBlobReencoded) {
  const std::string bad = "\xE2\x82";
  std::string bytes = bytes_of(*replication_response(bad));
  std::string expected = bytes_of(*replication_response(fffd));
  auto out = translate(test_connection(),
                       "/temporal.server.api.adminservice.v1.AdminService/StreamWorkflowReplicationMessages", false,
                       direction::remote_to_local, bytes);
  ASSERT_FALSE(out.result.is_refused()) << out.result.refusal.message;
  EXPECT_EQ(out.bytes, expected) << first_difference(out.bytes, expected);
  EXPECT_EQ(out.result.counts.utf8_repairs, 2u);
}

TEST(Utf8Repair, AnInvalidNamespaceNameIsRepairedToo) {
  auto m = make("temporal.api.workflowservice.v1.StartWorkflowExecutionRequest");
  set(*m, "namespace",
      "ord\xFF"
      "ers");
  auto out = translate(test_connection(), "/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution",
                       true, direction::local_to_remote, bytes_of(*m));
  set(*m, "namespace", "ord" + fffd + "ers");
  EXPECT_EQ(out.bytes, bytes_of(*m));
  EXPECT_EQ(out.result.counts.utf8_repairs, 1u);
  EXPECT_EQ(out.result.counts.namespaces, 0u);
}

TEST(Utf8Repair, RepairCanBeTurnedOff) {
  config::cluster_connection connection = test_connection();
  connection.repair_utf8 = false;
  std::string bytes = bytes_of(*replication_response("\xFF"));
  auto out =
      translate(connection, "/temporal.server.api.adminservice.v1.AdminService/StreamWorkflowReplicationMessages",
                false, direction::remote_to_local, bytes);
  EXPECT_EQ(out.bytes, bytes);
  EXPECT_EQ(out.result.counts.utf8_repairs, 0u);
}

}  // namespace
}  // namespace s2s::translation::testing
