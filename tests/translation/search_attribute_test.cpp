// Search attribute names are translated with the mapping of the namespace each part of a message belongs to,
// chosen by namespace id or name, with several namespaces in one message and one stream.
#include <gtest/gtest.h>

#include "temporal_messages.hpp"

namespace s2s::translation::testing {
namespace {

constexpr std::string_view stream_method =
    "/temporal.server.api.adminservice.v1.AdminService/StreamWorkflowReplicationMessages";
constexpr std::string_view start_method = "/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution";
constexpr std::string_view poll_method = "/temporal.api.workflowservice.v1.WorkflowService/PollWorkflowTaskQueue";

void add_attributes(pb::Message& search_attributes, const names& n, std::string_view ns) {
  for (std::string_view field : {"CustomerId", "Region", "OrderTotal"}) {
    set_payload(put(search_attributes, "indexed_fields", n.attribute(ns, field)), "\"v\"");
  }
}

// A history of namespace `ns`: started and upserted search attributes, and a child in `child_ns` whose
// search attributes follow the child's namespace.
std::unique_ptr<pb::Message> history_of(const names& n, std::string_view ns, std::string_view child_ns) {
  auto history = make("temporal.api.history.v1.History");
  pb::Message& started = add(*history, "events");
  set_int(started, "event_id", 1);
  set_enum(started, "event_type", "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED");
  set(started, "workflow_execution_started_event_attributes.workflow_type.name", "ProcessOrder");
  add_attributes(at(started, "workflow_execution_started_event_attributes.search_attributes"), n, ns);
  pb::Message& upsert = add(*history, "events");
  set_int(upsert, "event_id", 2);
  set_enum(upsert, "event_type", "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES");
  add_attributes(at(upsert, "upsert_workflow_search_attributes_event_attributes.search_attributes"), n, ns);
  pb::Message& child = add(*history, "events");
  set_int(child, "event_id", 3);
  set_enum(child, "event_type", "EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED");
  pb::Message& attributes = at(child, "start_child_workflow_execution_initiated_event_attributes");
  set(attributes, "namespace", n.ns(child_ns));
  set(attributes, "workflow_id", "child-1");
  add_attributes(at(attributes, "search_attributes"), n, child_ns);
  return history;
}

void add_history_task(pb::Message& response, const names& n, std::string_view namespace_id, std::string_view ns,
                      std::string_view child_ns) {
  pb::Message& task = add(response, "messages.replication_tasks");
  set_enum(task, "task_type", "REPLICATION_TASK_TYPE_HISTORY_V2_TASK");
  set(task, "history_task_attributes.namespace_id", namespace_id);
  set(task, "history_task_attributes.workflow_id", "wf");
  set_history_blob(at(task, "history_task_attributes.events"), *history_of(n, ns, child_ns));
}

struct both_sides {
  std::string local, remote;
};
template <class Build>
both_sides build_both(Build build) {
  return {bytes_of(*build(local_names)), bytes_of(*build(remote_names))};
}

void expect_translation(std::string_view method, bool is_request, const both_sides& message, std::uint32_t attributes) {
  auto there = translate(test_connection(), method, is_request, direction::local_to_remote, message.local);
  ASSERT_FALSE(there.result.is_refused()) << there.result.refusal.message;
  EXPECT_EQ(there.bytes, message.remote) << first_difference(there.bytes, message.remote);
  EXPECT_EQ(there.result.counts.search_attributes, attributes);
  auto back = translate(test_connection(), method, is_request, direction::remote_to_local, message.remote);
  EXPECT_EQ(back.bytes, message.local) << first_difference(back.bytes, message.local);
  EXPECT_EQ(back.result.counts.search_attributes, attributes);
}

TEST(SearchAttributeTranslation, TasksOfTwoNamespacesInOneReplicationMessageUseTheirOwnMappings) {
  auto message = build_both([](const names& n) {
    auto m = make("temporal.server.api.adminservice.v1.StreamWorkflowReplicationMessagesResponse");
    add_history_task(*m, n, orders_id, "orders", "orders");
    add_history_task(*m, n, billing_id, "billing", "billing");
    add_history_task(*m, n, "unknown-namespace-id", "payments", "payments");
    return m;
  });
  // orders maps CustomerId and Region (3 events × 2); billing maps only CustomerId (3 events × 1).
  expect_translation(stream_method, false, message, 6 + 3);
}

TEST(SearchAttributeTranslation, AChildInAnotherNamespaceUsesTheChildNamespaceMapping) {
  auto message = build_both([](const names& n) {
    auto m = make("temporal.server.api.adminservice.v1.StreamWorkflowReplicationMessagesResponse");
    add_history_task(*m, n, orders_id, "orders", "billing");
    return m;
  });
  expect_translation(stream_method, false, message, 2 * 2 + 1);
}

TEST(SearchAttributeTranslation, EachMessageOfAStreamIsTranslatedByItsOwnNamespace) {
  for (side arrived_on : {side::outbound, side::inbound}) {
    auto built = pipeline::build(test_connection(), arrived_on, temporal_schema());
    ASSERT_TRUE(built) << built.error();
    call_translation call = (*built)->start_call(stream_method);
    // On the outbound side responses travel remote→local, on the inbound side local→remote.
    bool to_local = arrived_on == side::outbound;
    for (auto [id, ns] :
         {std::pair{orders_id, "orders"}, std::pair{billing_id, "billing"}, std::pair{orders_id, "orders"}}) {
      auto message = build_both([&](const names& n) {
        auto m = make("temporal.server.api.adminservice.v1.StreamWorkflowReplicationMessagesResponse");
        add_history_task(*m, n, id, ns, ns);
        return m;
      });
      std::string bytes = to_local ? message.remote : message.local;
      filter_result result = call.on_response(bytes);
      ASSERT_FALSE(result.is_refused()) << result.refusal.message;
      EXPECT_EQ(bytes, to_local ? message.local : message.remote) << ns;
    }
  }
}

TEST(SearchAttributeTranslation, StartWorkflowExecutionSelectsTheMappingByNamespaceName) {
  for (std::string_view ns : {"orders", "billing", "payments"}) {
    auto message = build_both([&](const names& n) {
      auto m = make("temporal.api.workflowservice.v1.StartWorkflowExecutionRequest");
      set(*m, "namespace", n.ns(ns));
      set(*m, "workflow_id", "wf");
      add_attributes(at(*m, "search_attributes"), n, ns);
      return m;
    });
    std::uint32_t expected = ns == "orders" ? 2 : ns == "billing" ? 1 : 0;
    auto there = translate(test_connection(), start_method, true, direction::local_to_remote, message.local);
    EXPECT_EQ(there.bytes, message.remote) << ns;
    EXPECT_EQ(there.result.counts.search_attributes, expected) << ns;
    auto back = translate(test_connection(), start_method, true, direction::remote_to_local, message.remote);
    EXPECT_EQ(back.bytes, message.local) << ns;
  }
}

TEST(SearchAttributeTranslation, AResponseThatNamesNoNamespaceUsesTheNamespaceOfItsRequest) {
  for (std::string_view ns : {"orders", "billing"}) {
    auto built = pipeline::build(test_connection(), side::outbound, temporal_schema());
    ASSERT_TRUE(built) << built.error();
    call_translation call = (*built)->start_call(poll_method);
    auto request = make("temporal.api.workflowservice.v1.PollWorkflowTaskQueueRequest");
    set(*request, "namespace", local_names.ns(ns));
    set(*request, "task_queue.name", "tq");
    std::string request_bytes = bytes_of(*request);
    ASSERT_FALSE(call.on_request(request_bytes).is_refused());
    EXPECT_EQ(request_bytes, [&] {
      set(*request, "namespace", remote_names.ns(ns));
      return bytes_of(*request);
    }());

    auto response = build_both([&](const names& n) {
      auto m = make("temporal.api.workflowservice.v1.PollWorkflowTaskQueueResponse");
      set(*m, "workflow_execution.workflow_id", "wf");
      at(*m, "history").CopyFrom(*history_of(n, ns, ns));
      return m;
    });
    std::string bytes = response.remote;  // outbound responses travel remote→local
    filter_result result = call.on_response(bytes);
    ASSERT_FALSE(result.is_refused()) << result.refusal.message;
    EXPECT_EQ(bytes, response.local) << ns;
    EXPECT_EQ(result.counts.search_attributes, ns == "orders" ? 6u : 3u);
  }
}

TEST(SearchAttributeTranslation, MutableStateSearchAttributeMapsFollowTheExecutionNamespaceId) {
  auto message = build_both([](const names& n) {
    auto m = make("temporal.server.api.adminservice.v1.DescribeMutableStateResponse");
    set(*m, "shard_id", "3");
    pb::Message& info = at(*m, "database_mutable_state.execution_info");
    set(info, "namespace_id", billing_id);
    set(info, "workflow_id", "invoice-7");
    set_payload(put(info, "search_attributes", n.attribute("billing", "CustomerId")), "\"c-1\"");
    set_payload(put(info, "memo", "CustomerId"), "memo keys are not search attributes");
    return m;
  });
  expect_translation("/temporal.server.api.adminservice.v1.AdminService/DescribeMutableState", false, message, 1);
}

TEST(SearchAttributeTranslation, WithoutAnyNamespaceContextNothingIsRenamed) {
  auto history = make("temporal.api.history.v1.History");
  pb::Message& upsert = add(*history, "events");
  add_attributes(at(upsert, "upsert_workflow_search_attributes_event_attributes.search_attributes"), local_names,
                 "orders");
  auto m = make("temporal.server.api.adminservice.v1.GetWorkflowExecutionRawHistoryV2Response");
  set_history_blob(add(*m, "history_batches"), *history);
  std::string bytes = bytes_of(*m);
  // No request was seen on this call, so the namespace is unknown.
  auto out =
      translate(test_connection(), "/temporal.server.api.adminservice.v1.AdminService/GetWorkflowExecutionRawHistoryV2",
                false, direction::local_to_remote, bytes);
  EXPECT_EQ(out.bytes, bytes);
  EXPECT_EQ(out.result.counts.search_attributes, 0u);
}

}  // namespace
}  // namespace s2s::translation::testing
