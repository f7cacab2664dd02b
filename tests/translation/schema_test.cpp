// Loading descriptor sets and mapping gRPC method paths to their message types.
#include <google/protobuf/descriptor.pb.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "temporal_messages.hpp"

namespace s2s::translation::testing {
namespace {

TEST(Schema, TheGeneratedSetHoldsTheThreeServicesTheProxyForwards) {
  const schema& types = *temporal_schema();
  const method_types* start =
      types.find_method("/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution");
  ASSERT_NE(start, nullptr);
  EXPECT_EQ(start->request->full_name(), "temporal.api.workflowservice.v1.StartWorkflowExecutionRequest");
  EXPECT_EQ(start->response->full_name(), "temporal.api.workflowservice.v1.StartWorkflowExecutionResponse");
  EXPECT_NE(types.find_method("/temporal.api.operatorservice.v1.OperatorService/AddSearchAttributes"), nullptr);
  const method_types* stream =
      types.find_method("/temporal.server.api.adminservice.v1.AdminService/StreamWorkflowReplicationMessages");
  ASSERT_NE(stream, nullptr);
  EXPECT_TRUE(stream->client_streaming);
  EXPECT_TRUE(stream->server_streaming);
  EXPECT_EQ(types.find_method("/temporal.api.workflowservice.v1.WorkflowService/NoSuchMethod"), nullptr);
  EXPECT_EQ(types.find_method("not a path"), nullptr);
  EXPECT_GT(types.message_types().size(), 900u);
}

TEST(Schema, BytesThatAreNotADescriptorSetAreRefused) {
  auto loaded = schema::from_descriptor_set(std::string("\xff\xff\xff", 3));
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().find("FileDescriptorSet"), std::string::npos) << loaded.error();
}

TEST(Schema, FilesLoadInAnyOrderAndAMissingImportIsNamed) {
  pb::FileDescriptorSet set;
  ASSERT_TRUE(set.ParseFromString(temporal_descriptor_bytes()));
  std::reverse(set.mutable_file()->begin(), set.mutable_file()->end());
  auto reversed = schema::from_descriptor_set(set.SerializeAsString());
  ASSERT_TRUE(reversed) << reversed.error();
  EXPECT_NE((*reversed)->find_message("temporal.api.history.v1.History"), nullptr);

  pb::FileDescriptorSet partial;
  for (const auto& file : set.file()) {
    if (file.name() == "temporal/api/history/v1/message.proto")
      *partial.add_file() = file;
  }
  ASSERT_EQ(partial.file_size(), 1);
  auto missing = schema::from_descriptor_set(partial.SerializeAsString());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("temporal/api/history/v1/message.proto imports"), std::string::npos)
      << missing.error();
}

const field_step* step(const plan_set& plans, std::string_view type, std::string_view field) {
  const message_plan* plan = plans.find(temporal_schema()->find_message(type));
  if (plan == nullptr)
    return nullptr;
  const pb::FieldDescriptor* descriptor = plan->type->FindFieldByName(std::string(field));
  return descriptor == nullptr ? nullptr : plan->find(static_cast<std::uint32_t>(descriptor->number()));
}

TEST(Plans, NamespaceNameFieldsAreFoundWhereverTheyAre) {
  auto compiled = plan_set::compile(*temporal_schema(), {true, false, false});
  ASSERT_TRUE(compiled) << compiled.error();
  const plan_set& plans = *compiled;
  for (auto [type, field] : std::initializer_list<std::pair<std::string_view, std::string_view>>{
           {"temporal.api.workflowservice.v1.StartWorkflowExecutionRequest", "namespace"},
           {"temporal.api.workflowservice.v1.PollActivityTaskQueueResponse", "workflow_namespace"},
           {"temporal.api.history.v1.WorkflowExecutionStartedEventAttributes", "parent_workflow_namespace"},
           {"temporal.api.namespace.v1.NamespaceInfo", "name"},
           {"temporal.api.common.v1.Link.WorkflowEvent", "namespace"},
           {"temporal.api.failure.v1.ChildWorkflowExecutionFailureInfo", "namespace"},
           {"temporal.server.api.adminservice.v1.GetNamespaceRequest", "namespace"}}) {
    const field_step* found = step(plans, type, field);
    ASSERT_NE(found, nullptr) << type << "." << field;
    EXPECT_EQ(found->kind, step_kind::string);
    EXPECT_TRUE(found->roles & role_namespace_name) << type << "." << field;
  }
  EXPECT_EQ(
      step(plans, "temporal.api.history.v1.WorkflowExecutionStartedEventAttributes", "parent_workflow_namespace_id"),
      nullptr);
  EXPECT_EQ(step(plans, "temporal.api.workflowservice.v1.StartWorkflowExecutionRequest", "workflow_id"), nullptr);
  EXPECT_EQ(plans.find(temporal_schema()->find_message("temporal.api.common.v1.Payload")), nullptr);
}

TEST(Plans, HistoryBlobsAreFollowedIntoHistoryAndOtherBlobsAreNot) {
  auto compiled = plan_set::compile(*temporal_schema(), {true, false, false});
  ASSERT_TRUE(compiled);
  for (auto [type, field] : std::initializer_list<std::pair<std::string_view, std::string_view>>{
           {"temporal.server.api.replication.v1.HistoryTaskAttributes", "events"},
           {"temporal.server.api.replication.v1.HistoryTaskAttributes", "new_run_events"},
           {"temporal.server.api.replication.v1.HistoryTaskAttributes", "events_batches"},
           {"temporal.server.api.replication.v1.BackfillHistoryTaskAttributes", "event_batches"},
           {"temporal.server.api.replication.v1.NewRunInfo", "event_batch"},
           {"temporal.server.api.replication.v1.VersionedTransitionArtifact", "event_batches"},
           {"temporal.server.api.adminservice.v1.GetWorkflowExecutionRawHistoryV2Response", "history_batches"},
           {"temporal.server.api.adminservice.v1.ReapplyEventsRequest", "events"},
           {"temporal.api.workflowservice.v1.GetWorkflowExecutionHistoryResponse", "raw_history"}}) {
    const field_step* found = step(*compiled, type, field);
    ASSERT_NE(found, nullptr) << type << "." << field;
    EXPECT_EQ(found->kind, step_kind::history_blob) << type << "." << field;
    EXPECT_EQ(found->child->type->full_name(), "temporal.api.history.v1.History");
  }
  EXPECT_EQ(step(*compiled, "temporal.server.api.replication.v1.ReplicationTask", "data"), nullptr);
}

TEST(Plans, RecursiveTypesPointBackAtTheirOwnPlan) {
  auto compiled = plan_set::compile(*temporal_schema(), {true, false, false});
  ASSERT_TRUE(compiled);
  const field_step* cause = step(*compiled, "temporal.api.failure.v1.Failure", "cause");
  ASSERT_NE(cause, nullptr);
  EXPECT_EQ(cause->child, compiled->find(temporal_schema()->find_message("temporal.api.failure.v1.Failure")));
}

TEST(Plans, SearchAttributeKeysAndTheNamespaceThatSelectsTheirMapping) {
  auto compiled = plan_set::compile(*temporal_schema(), {false, true, false});
  ASSERT_TRUE(compiled);
  const field_step* key = step(*compiled, "temporal.api.common.v1.SearchAttributes.IndexedFieldsEntry", "key");
  ASSERT_NE(key, nullptr);
  EXPECT_TRUE(key->roles & role_search_attribute_key);
  EXPECT_NE(step(*compiled, "temporal.server.api.persistence.v1.WorkflowExecutionInfo.SearchAttributesEntry", "key"),
            nullptr);
  EXPECT_EQ(compiled->find(temporal_schema()->find_message("temporal.api.common.v1.Memo.FieldsEntry")), nullptr);
  const message_plan* task =
      compiled->find(temporal_schema()->find_message("temporal.server.api.replication.v1.HistoryTaskAttributes"));
  ASSERT_NE(task, nullptr);
  EXPECT_EQ(task->scope.ids.size(), 1u);
  // A parent's namespace does not select the mapping of the child's own search attributes.
  const message_plan* started = compiled->find(
      temporal_schema()->find_message("temporal.api.history.v1.WorkflowExecutionStartedEventAttributes"));
  ASSERT_NE(started, nullptr);
  EXPECT_TRUE(started->scope.empty());
}

TEST(Plans, NoFeaturesMeansEveryMessageIsForwardedUnparsed) {
  auto compiled = plan_set::compile(*temporal_schema(), {});
  ASSERT_TRUE(compiled);
  EXPECT_EQ(compiled->size(), 0u);
}

}  // namespace
}  // namespace s2s::translation::testing
