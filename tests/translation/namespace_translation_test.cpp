// Namespace names are translated at every place they occur in real Temporal messages, nothing else changes,
// and translating there and back gives the original bytes.
#include <gtest/gtest.h>

#include <functional>

#include "temporal_messages.hpp"

namespace s2s::translation::testing {
namespace {

using builder = std::function<std::unique_ptr<pb::Message>(const names&)>;

constexpr std::string_view workflow_service = "/temporal.api.workflowservice.v1.WorkflowService/";
constexpr std::string_view admin_service = "/temporal.server.api.adminservice.v1.AdminService/";

std::string method(std::string_view service, std::string_view name) { return std::string(service) + std::string(name); }

// Builds the message in local and in remote names; local→remote must produce exactly the remote bytes
// (every name changed, every other byte identical) and remote→local exactly the local bytes.
void expect_round_trip(const std::string& rpc, bool is_request, const builder& build, std::uint32_t namespaces,
                       std::uint32_t search_attributes = 0) {
  auto local_message = build(local_names);
  std::string type = local_message->GetDescriptor()->full_name();
  std::string local = bytes_of(*local_message);
  std::string remote = bytes_of(*build(remote_names));
  ASSERT_NE(local, remote) << "the builder does not use any mapped name";

  auto there = translate(test_connection(), rpc, is_request, direction::local_to_remote, local);
  ASSERT_FALSE(there.result.is_refused()) << there.result.refusal.message;
  EXPECT_TRUE(there.result.is_changed());
  EXPECT_EQ(there.bytes, remote) << first_difference(there.bytes, remote) << "\nactual:\n"
                                 << describe(type, there.bytes) << "\nexpected:\n"
                                 << describe(type, remote);
  EXPECT_EQ(there.result.counts.namespaces, namespaces);
  EXPECT_EQ(there.result.counts.search_attributes, search_attributes);
  EXPECT_EQ(there.result.counts.utf8_repairs, 0u);

  auto back = translate(test_connection(), rpc, is_request, direction::remote_to_local, remote);
  ASSERT_FALSE(back.result.is_refused()) << back.result.refusal.message;
  EXPECT_EQ(back.bytes, local) << first_difference(back.bytes, local);
  EXPECT_EQ(back.result.counts.namespaces, namespaces);

  auto again = translate(test_connection(), rpc, is_request, direction::remote_to_local, there.bytes);
  EXPECT_EQ(again.bytes, local) << "local→remote→local is not the identity";
}

void add_payload(pb::Message& payloads, std::string_view data) { set_payload(add(payloads, "payloads"), data); }

std::unique_ptr<pb::Message> history_event(pb::Message& history, std::int64_t id, std::string_view type) {
  pb::Message& event = add(history, "events");
  set_int(event, "event_id", id);
  set_enum(event, "event_type", type);
  set_int(event, "version", 100 + id);
  set_int(event, "task_id", 1000 + id);
  set_int(event, "event_time.seconds", 1700000000 + id);
  return nullptr;
}

pb::Message& last_event(pb::Message& history) {
  const pb::FieldDescriptor* events = history.GetDescriptor()->FindFieldByName("events");
  int count = history.GetReflection()->FieldSize(history, events);
  return *history.GetReflection()->MutableRepeatedMessage(&history, events, count - 1);
}

// A history naming namespaces in every kind of event that can: a started workflow with a parent, a child
// started, an external signal and an external cancel, plus one event in an unmapped namespace.
std::unique_ptr<pb::Message> history_with_namespaces(const names& n) {
  auto history = make("temporal.api.history.v1.History");
  history_event(*history, 1, "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED");
  pb::Message& started = at(last_event(*history), "workflow_execution_started_event_attributes");
  set(started, "workflow_type.name", "ProcessOrder");
  set(started, "parent_workflow_namespace", n.ns("billing"));
  set(started, "parent_workflow_namespace_id", billing_id);
  set(started, "parent_workflow_execution.workflow_id", "invoice-7");
  set(started, "parent_workflow_execution.run_id", "run-parent");
  set(started, "task_queue.name", "orders-tq");
  add_payload(at(started, "input"), R"({"order":1234})");
  set(started, "identity", "worker-1@host");

  history_event(*history, 2, "EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED");
  pb::Message& child = at(last_event(*history), "start_child_workflow_execution_initiated_event_attributes");
  set(child, "namespace", n.ns("orders"));
  set(child, "namespace_id", orders_id);
  set(child, "workflow_id", "ship-1234");
  set(child, "workflow_type.name", "Ship");
  set_int(child, "workflow_task_completed_event_id", 1);

  history_event(*history, 3, "EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED");
  pb::Message& signal = at(last_event(*history), "signal_external_workflow_execution_initiated_event_attributes");
  set(signal, "namespace", n.ns("billing"));
  set(signal, "namespace_id", billing_id);
  set(signal, "workflow_execution.workflow_id", "invoice-7");
  set(signal, "signal_name", "paid");
  add_payload(at(signal, "input"), "\"orders\"");

  history_event(*history, 4, "EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED");
  pb::Message& cancel =
      at(last_event(*history), "request_cancel_external_workflow_execution_initiated_event_attributes");
  set(cancel, "namespace", n.ns("orders"));
  set(cancel, "workflow_execution.workflow_id", "ship-1234");
  set(cancel, "reason", "orders cancelled");

  history_event(*history, 5, "EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED");
  pb::Message& unmapped = at(last_event(*history), "signal_external_workflow_execution_initiated_event_attributes");
  set(unmapped, "namespace", "payments");
  set(unmapped, "signal_name", "refund");
  return history;
}
constexpr std::uint32_t namespaces_in_history = 4;

TEST(NamespaceTranslation, StartWorkflowExecutionRequestRenamesNamespaceAndLinksAndKeepsUnknownFields) {
  expect_round_trip(
      method(workflow_service, "StartWorkflowExecution"), true,
      [](const names& n) {
        auto m = make("temporal.api.workflowservice.v1.StartWorkflowExecutionRequest");
        set(*m, "namespace", n.ns("orders"));
        set(*m, "workflow_id", "order-1234");
        set(*m, "workflow_type.name", "ProcessOrder");
        set(*m, "task_queue.name", "orders");  // a task queue called like the namespace is not a namespace
        add_payload(at(*m, "input"), R"({"namespace":"orders"})");
        set_int(*m, "workflow_run_timeout.seconds", 3600);
        set(*m, "identity", "client@host");
        set(*m, "request_id", "5f0c0e6e");
        set_payload(put(*m, "memo.fields", "orders"), "memo");
        set_payload(put(*m, "header.fields", "tracing"), "span");
        pb::Message& link = add(*m, "links");
        set(link, "workflow_event.namespace", n.ns("billing"));
        set(link, "workflow_event.workflow_id", "invoice-7");
        set_int(link, "workflow_event.event_ref.event_id", 5);
        pb::Message& other = add(*m, "links");
        set(other, "workflow_event.namespace", "payments");
        set(other, "workflow_event.workflow_id", "refund-1");
        pb::UnknownFieldSet* unknown = m->GetReflection()->MutableUnknownFields(m.get());
        unknown->AddLengthDelimited(9999, "orders");
        unknown->AddVarint(9998, 7);
        return m;
      },
      2);
}

TEST(NamespaceTranslation, DescribeNamespaceResponseRenamesNamespaceInfoName) {
  expect_round_trip(
      method(workflow_service, "DescribeNamespace"), false,
      [](const names& n) {
        auto m = make("temporal.api.workflowservice.v1.DescribeNamespaceResponse");
        set(*m, "namespace_info.name", n.ns("orders"));
        set_enum(*m, "namespace_info.state", "NAMESPACE_STATE_REGISTERED");
        set(*m, "namespace_info.description", "orders of account 42");
        set(*m, "namespace_info.owner_email", "ops@example.com");
        put_string(*m, "namespace_info.data", "team", "orders");
        set(*m, "namespace_info.id", orders_id);
        set_int(*m, "config.workflow_execution_retention_ttl.seconds", 86400);
        set(*m, "replication_config.active_cluster_name", "cluster-a");
        set(add(*m, "replication_config.clusters"), "cluster_name", "cluster-a");
        set(add(*m, "replication_config.clusters"), "cluster_name", "cluster-b");
        set_int(*m, "failover_version", 101);
        set_int(*m, "is_global_namespace", 1);
        set_int(add(*m, "failover_history"), "failover_version", 1);
        return m;
      },
      1);
}

TEST(NamespaceTranslation, PollWorkflowTaskQueueResponseRenamesNamespacesInHistoryEvents) {
  expect_round_trip(
      method(workflow_service, "PollWorkflowTaskQueue"), false,
      [](const names& n) {
        auto m = make("temporal.api.workflowservice.v1.PollWorkflowTaskQueueResponse");
        set(*m, "task_token", std::string("\x0a\x06orders\x12\x01\xff", 11));
        set(*m, "workflow_execution.workflow_id", "order-1234");
        set(*m, "workflow_execution.run_id", "run-1");
        set(*m, "workflow_type.name", "ProcessOrder");
        set_int(*m, "previous_started_event_id", 3);
        set_int(*m, "started_event_id", 7);
        set_int(*m, "attempt", 1);
        at(*m, "history").CopyFrom(*history_with_namespaces(n));
        set(*m, "workflow_execution_task_queue.name", "orders-tq");
        return m;
      },
      namespaces_in_history);
}

TEST(NamespaceTranslation, GetNamespaceReplicationMessagesResponseRenamesNamespaceTask) {
  expect_round_trip(
      method(admin_service, "GetNamespaceReplicationMessages"), false,
      [](const names& n) {
        auto m = make("temporal.server.api.adminservice.v1.GetNamespaceReplicationMessagesResponse");
        for (std::string_view name : {std::string_view("orders"), std::string_view("payments")}) {
          pb::Message& task = add(*m, "messages.replication_tasks");
          set_enum(task, "task_type", "REPLICATION_TASK_TYPE_NAMESPACE_TASK");
          set_int(task, "source_task_id", 77);
          pb::Message& attributes = at(task, "namespace_task_attributes");
          set_enum(attributes, "namespace_operation", "NAMESPACE_OPERATION_UPDATE");
          set(attributes, "id", name == "orders" ? orders_id : "payments-id");
          set(attributes, "info.name", n.ns(name));
          set(attributes, "info.description", std::string(name) + " namespace");
          set_int(attributes, "config.workflow_execution_retention_ttl.seconds", 86400);
          set(attributes, "replication_config.active_cluster_name", "cluster-a");
          set(add(attributes, "replication_config.clusters"), "cluster_name", "cluster-b");
          set_int(attributes, "config_version", 3);
          set_int(attributes, "failover_version", 101);
        }
        set_int(*m, "messages.last_retrieved_message_id", 77);
        set_int(*m, "messages.has_more", 1);
        return m;
      },
      1);
}

std::unique_ptr<pb::Message> stream_response(const names& n) {
  auto m = make("temporal.server.api.adminservice.v1.StreamWorkflowReplicationMessagesResponse");
  pb::Message& task = add(*m, "messages.replication_tasks");
  set_enum(task, "task_type", "REPLICATION_TASK_TYPE_HISTORY_V2_TASK");
  set_int(task, "source_task_id", 42);
  pb::Message& attributes = at(task, "history_task_attributes");
  set(attributes, "namespace_id", orders_id);
  set(attributes, "workflow_id", "order-1234");
  set(attributes, "run_id", "run-1");
  pb::Message& item = add(attributes, "version_history_items");
  set_int(item, "event_id", 5);
  set_int(item, "version", 101);
  set_history_blob(at(attributes, "events"), *history_with_namespaces(n));
  auto new_run = make("temporal.api.history.v1.History");
  history_event(*new_run, 1, "EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED");
  set(at(last_event(*new_run), "request_cancel_external_workflow_execution_initiated_event_attributes"), "namespace",
      n.ns("billing"));
  set_history_blob(at(attributes, "new_run_events"), *new_run);
  set(attributes, "new_run_id", "run-2");
  set_history_blob(add(attributes, "events_batches"), *history_with_namespaces(n));
  set_int(*m, "messages.exclusive_high_watermark", 43);
  set_int(*m, "messages.exclusive_high_watermark_time.seconds", 1700000000);
  return m;
}

TEST(NamespaceTranslation, StreamWorkflowReplicationMessagesResponseRenamesNamespacesInsideHistoryBlobs) {
  expect_round_trip(method(admin_service, "StreamWorkflowReplicationMessages"), false, stream_response,
                    2 * namespaces_in_history + 1);
}

TEST(NamespaceTranslation, GetWorkflowExecutionRawHistoryV2ResponseRenamesNamespacesInEveryBatch) {
  expect_round_trip(
      method(admin_service, "GetWorkflowExecutionRawHistoryV2"), false,
      [](const names& n) {
        auto m = make("temporal.server.api.adminservice.v1.GetWorkflowExecutionRawHistoryV2Response");
        set(*m, "next_page_token", "page-2");
        set_history_blob(add(*m, "history_batches"), *history_with_namespaces(n));
        set_history_blob(add(*m, "history_batches"), *history_with_namespaces(n));
        set(*m, "version_history.branch_token", "branch");
        pb::Message& item = add(*m, "version_history.items");
        set_int(item, "event_id", 10);
        set_int(item, "version", 101);
        return m;
      },
      2 * namespaces_in_history);
}

TEST(NamespaceTranslation, BlobsNotEncodedAsProto3AreLeftAlone) {
  auto m = make("temporal.server.api.adminservice.v1.GetWorkflowExecutionRawHistoryV2Response");
  std::string history = bytes_of(*history_with_namespaces(local_names));
  pb::Message& json = add(*m, "history_batches");
  set_enum(json, "encoding_type", "ENCODING_TYPE_JSON");
  set(json, "data", history);
  set(add(*m, "history_batches"), "data", history);  // encoding unspecified
  std::string bytes = bytes_of(*m);
  auto out = translate(test_connection(), method(admin_service, "GetWorkflowExecutionRawHistoryV2"), false,
                       direction::local_to_remote, bytes);
  EXPECT_FALSE(out.result.is_changed());
  EXPECT_EQ(out.bytes, bytes);
}

TEST(NamespaceTranslation, NestedFailureCausesAreFollowedThroughTheRecursiveType) {
  expect_round_trip(
      method(workflow_service, "RespondWorkflowTaskFailed"), true,
      [](const names& n) {
        auto m = make("temporal.api.workflowservice.v1.RespondWorkflowTaskFailedRequest");
        set(*m, "namespace", n.ns("orders"));
        pb::Message* failure = &at(*m, "failure");
        for (int depth = 0; depth < 5; ++depth) {
          set(*failure, "message", "level " + std::to_string(depth));
          failure = &at(*failure, "cause");
        }
        set(*failure, "child_workflow_execution_failure_info.namespace", n.ns("billing"));
        return m;
      },
      2);
}

TEST(NamespaceTranslation, AMessageWithNothingToChangeIsReturnedAsTheSameBytes) {
  auto m = make("temporal.api.workflowservice.v1.StartWorkflowExecutionRequest");
  set(*m, "namespace", "payments");
  set(*m, "workflow_id", "refund-1");
  std::string bytes = bytes_of(*m);
  auto out = translate(test_connection(), method(workflow_service, "StartWorkflowExecution"), true,
                       direction::local_to_remote, bytes);
  EXPECT_EQ(out.result.what, filter_result::outcome::unchanged);
  EXPECT_EQ(out.bytes, bytes);
}

TEST(NamespaceTranslation, UnknownMethodsPassUnchanged) {
  std::string bytes("\x0a\x06orders", 8);
  auto out = translate(test_connection(), "/temporal.api.workflowservice.v1.WorkflowService/NotYetInvented", true,
                       direction::local_to_remote, bytes);
  EXPECT_EQ(out.result.what, filter_result::outcome::unchanged);
  EXPECT_EQ(out.bytes, bytes);
}

}  // namespace
}  // namespace s2s::translation::testing
