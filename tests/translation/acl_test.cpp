// aclPolicy on the inbound side: refused admin methods, namespaces and namespace lifecycle calls end with
// PERMISSION_DENIED naming what was refused; allowed calls pass untouched; the outbound side is not guarded.
#include <gtest/gtest.h>

#include "temporal_messages.hpp"

namespace s2s::translation::testing {
namespace {

constexpr std::string_view admin = "/temporal.server.api.adminservice.v1.AdminService/";
constexpr std::string_view workflow = "/temporal.api.workflowservice.v1.WorkflowService/";

config::cluster_connection guarded() {
  config::cluster_connection connection = test_connection();
  connection.acl = config::acl_policy{
      std::vector<std::string>{"AddOrUpdateRemoteCluster", "RemoveRemoteCluster", "DescribeCluster", "ListClusters",
                               "DescribeMutableState", "GetNamespace", "GetNamespaceReplicationMessages",
                               "GetWorkflowExecutionRawHistoryV2", "StreamWorkflowReplicationMessages", "ReapplyEvents",
                               "SyncWorkflowState"},
      std::vector<std::string>{"orders", "temporal-system"}};
  return connection;
}

std::shared_ptr<const pipeline> inbound(const config::cluster_connection& connection = guarded()) {
  auto built = pipeline::build(connection, side::inbound, temporal_schema());
  if (!built)
    throw std::runtime_error(built.error());
  return *built;
}

std::string method(std::string_view service, std::string_view name) { return std::string(service) + std::string(name); }

TEST(AclPolicy, AnAdminMethodOutsideTheAllowlistIsRefusedBeforeAnyMessage) {
  call_translation call = inbound()->start_call(method(admin, "DeleteWorkflowExecution"));
  ASSERT_TRUE(call.refusal().has_value());
  EXPECT_EQ(call.refusal()->code, status_code::permission_denied);
  EXPECT_NE(call.refusal()->message.find("DeleteWorkflowExecution"), std::string::npos) << call.refusal()->message;
  EXPECT_NE(call.refusal()->message.find("aclPolicy.allowedMethods.adminService"), std::string::npos);
  std::string bytes;
  EXPECT_TRUE(call.on_request(bytes).is_refused());
}

TEST(AclPolicy, ARequestNamingANamespaceOutsideTheAllowlistIsRefused) {
  auto m = make("temporal.server.api.adminservice.v1.DescribeMutableStateRequest");
  set(*m, "namespace", "payments");
  set(*m, "execution.workflow_id", "wf");
  call_translation call = inbound()->start_call(method(admin, "DescribeMutableState"));
  ASSERT_FALSE(call.refusal());
  std::string bytes = bytes_of(*m);
  filter_result result = call.on_request(bytes);
  ASSERT_TRUE(result.is_refused());
  EXPECT_EQ(result.refusal.code, status_code::permission_denied);
  EXPECT_NE(result.refusal.message.find("'payments'"), std::string::npos) << result.refusal.message;
  EXPECT_NE(result.refusal.message.find("aclPolicy.allowedNamespaces"), std::string::npos);
}

TEST(AclPolicy, NamespacesNestedInARequestAreCheckedToo) {
  auto m = make("temporal.api.workflowservice.v1.StartWorkflowExecutionRequest");
  set(*m, "namespace", remote_names.ns("orders"));
  set(add(*m, "links"), "workflow_event.namespace", "payments");
  std::string bytes = bytes_of(*m);
  filter_result result = inbound()->start_call(method(workflow, "StartWorkflowExecution")).on_request(bytes);
  ASSERT_TRUE(result.is_refused());
  EXPECT_NE(result.refusal.message.find("'payments'"), std::string::npos) << result.refusal.message;
}

TEST(AclPolicy, TheAllowlistHoldsLocalNamesAndIsCheckedAfterTranslation) {
  auto m = make("temporal.server.api.adminservice.v1.DescribeMutableStateRequest");
  set(*m, "namespace", remote_names.ns("orders"));  // inbound requests arrive in remote names
  std::string bytes = bytes_of(*m);
  filter_result result = inbound()->start_call(method(admin, "DescribeMutableState")).on_request(bytes);
  ASSERT_FALSE(result.is_refused()) << result.refusal.message;
  set(*m, "namespace", "orders");
  EXPECT_EQ(bytes, bytes_of(*m));
}

TEST(AclPolicy, RegisterAndDeprecateNamespaceAreRefusedWhileAPolicyIsSet) {
  for (std::string_view name : {"RegisterNamespace", "DeprecateNamespace"}) {
    call_translation call = inbound()->start_call(method(workflow, name));
    ASSERT_TRUE(call.refusal().has_value()) << name;
    EXPECT_EQ(call.refusal()->code, status_code::permission_denied);
    EXPECT_NE(call.refusal()->message.find(std::string(name)), std::string::npos) << call.refusal()->message;
  }
  config::cluster_connection open = guarded();
  open.acl.reset();
  EXPECT_FALSE(inbound(open)->start_call(method(workflow, "RegisterNamespace")).refusal());
}

TEST(AclPolicy, AllowedCallsPassUntouched) {
  config::cluster_connection connection = guarded();
  connection.namespace_mappings.clear();
  connection.search_attribute_mappings.clear();
  auto m = make("temporal.server.api.adminservice.v1.DescribeMutableStateRequest");
  set(*m, "namespace", "orders");
  set(*m, "execution.workflow_id", "wf");
  std::string bytes = bytes_of(*m);
  const std::string original = bytes;
  call_translation call = inbound(connection)->start_call(method(admin, "DescribeMutableState"));
  ASSERT_FALSE(call.refusal());
  filter_result result = call.on_request(bytes);
  EXPECT_EQ(result.what, filter_result::outcome::unchanged);
  EXPECT_EQ(bytes, original);

  auto response = make("temporal.server.api.adminservice.v1.DescribeClusterResponse");
  set(*response, "cluster_name", "cluster-a");
  std::string response_bytes = bytes_of(*response);
  call_translation describe = inbound(connection)->start_call(method(admin, "DescribeCluster"));
  ASSERT_FALSE(describe.refusal());
  EXPECT_EQ(describe.on_response(response_bytes).what, filter_result::outcome::unchanged);
  EXPECT_EQ(response_bytes, bytes_of(*response));
}

TEST(AclPolicy, WithoutANamespaceListAnyNamespacePasses) {
  config::cluster_connection connection = guarded();
  connection.acl->allowed_namespaces.reset();
  auto m = make("temporal.server.api.adminservice.v1.DescribeMutableStateRequest");
  set(*m, "namespace", "payments");
  std::string bytes = bytes_of(*m);
  EXPECT_FALSE(inbound(connection)->start_call(method(admin, "DescribeMutableState")).on_request(bytes).is_refused());
}

TEST(AclPolicy, NamespacesInsideReplicatedHistoryAreContentNotTheRequestTarget) {
  auto history = make("temporal.api.history.v1.History");
  set(add(*history, "events"), "start_child_workflow_execution_initiated_event_attributes.namespace", "payments");
  auto m = make("temporal.server.api.adminservice.v1.ReapplyEventsRequest");
  set(*m, "namespace_id", orders_id);
  set(*m, "workflow_execution.workflow_id", "wf");
  set_history_blob(at(*m, "events"), *history);
  std::string bytes = bytes_of(*m);
  filter_result result = inbound()->start_call(method(admin, "ReapplyEvents")).on_request(bytes);
  EXPECT_FALSE(result.is_refused()) << result.refusal.message;
}

TEST(AclPolicy, TheOutboundSideIsNotGuarded) {
  auto built = pipeline::build(guarded(), side::outbound, temporal_schema());
  ASSERT_TRUE(built) << built.error();
  EXPECT_FALSE((*built)->start_call(method(admin, "DeleteWorkflowExecution")).refusal());
  auto m = make("temporal.server.api.adminservice.v1.DescribeMutableStateRequest");
  set(*m, "namespace", "payments");
  std::string bytes = bytes_of(*m);
  EXPECT_FALSE((*built)->start_call(method(admin, "DescribeMutableState")).on_request(bytes).is_refused());
}

// Before the schema is loaded only the method checks apply, and they need no schema.
TEST(AclPolicy, MethodChecksApplyWithoutTheSchema) {
  auto checks = pipeline::build_method_checks(guarded(), side::inbound);
  ASSERT_TRUE(checks) << checks.error();
  auto refused = (*checks)->start_call(method(admin, "DeleteWorkflowExecution"));
  ASSERT_TRUE(refused.refusal());
  EXPECT_EQ(refused.refusal()->code, status_code::permission_denied);
  EXPECT_FALSE((*checks)->start_call(method(admin, "DescribeCluster")).refusal());
  auto outbound = pipeline::build_method_checks(guarded(), side::outbound);
  ASSERT_TRUE(outbound) << outbound.error();
  EXPECT_FALSE((*outbound)->start_call(method(admin, "DeleteWorkflowExecution")).refusal());
}

// A side waits for the schema only for what reads messages: the namespace checks do, the method checks do not.
TEST(AclPolicy, OnlyTheNamespaceChecksMakeASideWaitForTheSchema) {
  config::cluster_connection methods_only;
  methods_only.repair_utf8 = true;
  methods_only.acl = config::acl_policy{std::vector<std::string>{"DescribeCluster"}, std::nullopt};
  EXPECT_FALSE(pipeline::needs_schema(methods_only, side::inbound));
  config::cluster_connection names = methods_only;
  names.acl->allowed_namespaces = std::vector<std::string>{"orders"};
  EXPECT_TRUE(pipeline::needs_schema(names, side::inbound));
  EXPECT_FALSE(pipeline::needs_schema(names, side::outbound)) << "the outbound side is not guarded";
}

TEST(AclPolicy, EitherSpellingOfAMappedNamespaceAllowsIt) {
  // orders ↔ orders.acct42 and billing ↔ billing.acct42 are mapped; the lists differ only in spelling.
  for (std::vector<std::string> allowed :
       {std::vector<std::string>{"orders"}, std::vector<std::string>{"orders.acct42"}}) {
    config::cluster_connection connection = guarded();
    connection.acl->allowed_namespaces = allowed;
    auto m = make("temporal.server.api.adminservice.v1.DescribeMutableStateRequest");
    set(*m, "namespace", "orders.acct42");
    std::string bytes = bytes_of(*m);
    filter_result result = inbound(connection)->start_call(method(admin, "DescribeMutableState")).on_request(bytes);
    EXPECT_FALSE(result.is_refused()) << allowed[0] << ": " << result.refusal.message;

    set(*m, "namespace", "billing.acct42");
    bytes = bytes_of(*m);
    result = inbound(connection)->start_call(method(admin, "DescribeMutableState")).on_request(bytes);
    ASSERT_TRUE(result.is_refused()) << allowed[0];
    EXPECT_EQ(result.refusal.code, status_code::permission_denied);
    // The refusal names the namespace as the caller did, never by its local name.
    EXPECT_NE(result.refusal.message.find("'billing.acct42'"), std::string::npos) << result.refusal.message;
    EXPECT_EQ(result.refusal.message.find("'billing'"), std::string::npos) << result.refusal.message;
  }
}

TEST(AclPolicy, ALocalNameOfAMappingMeansThatNamespaceEvenWhenAnotherMappingsRemoteNameIsSpelledSo) {
  // a ↔ b and b ↔ c: "b" in the list is the local namespace b (remote c), not the local a.
  config::cluster_connection connection = guarded();
  connection.namespace_mappings = {{"a", "b"}, {"b", "c"}};
  connection.search_attribute_mappings.clear();
  connection.acl->allowed_namespaces = std::vector<std::string>{"b"};
  auto m = make("temporal.server.api.adminservice.v1.DescribeMutableStateRequest");
  set(*m, "namespace", "c");
  std::string bytes = bytes_of(*m);
  EXPECT_FALSE(inbound(connection)->start_call(method(admin, "DescribeMutableState")).on_request(bytes).is_refused());
  set(*m, "namespace", "b");
  bytes = bytes_of(*m);
  filter_result result = inbound(connection)->start_call(method(admin, "DescribeMutableState")).on_request(bytes);
  ASSERT_TRUE(result.is_refused());
  EXPECT_NE(result.refusal.message.find("'b'"), std::string::npos) << result.refusal.message;
}

TEST(AclPolicy, TheRoutingHeaderIsCheckedLikeTheRequest) {
  call_translation call = inbound()->start_call(method(workflow, "DescribeNamespace"));
  header_list headers = {{"temporal-namespace", "billing.acct42"}};
  filter_result result = call.on_request_headers(headers);
  ASSERT_TRUE(result.is_refused());
  EXPECT_EQ(result.refusal.code, status_code::permission_denied);
  EXPECT_NE(result.refusal.message.find("'billing.acct42'"), std::string::npos) << result.refusal.message;
  headers = {{"temporal-namespace", "orders.acct42"}};
  call_translation allowed = inbound()->start_call(method(workflow, "DescribeNamespace"));
  EXPECT_FALSE(allowed.on_request_headers(headers).is_refused());
  EXPECT_EQ(headers[0].second, "orders");
}

TEST(AclPolicy, ListNamespacesListsOnlyAllowedNamespacesInTheCallersNames) {
  auto response = make("temporal.api.workflowservice.v1.ListNamespacesResponse");
  for (std::string_view name : {"orders", "billing", "payments", "temporal-system"}) {
    set(add(*response, "namespaces"), "namespace_info.name", name);
  }
  response->GetReflection()->SetString(response.get(), response->GetDescriptor()->FindFieldByName("next_page_token"),
                                       "page-2");
  std::string bytes = bytes_of(*response);
  call_translation call = inbound()->start_call(method(workflow, "ListNamespaces"));
  ASSERT_TRUE(call.wants_responses());
  filter_result result = call.on_response(bytes);
  ASSERT_FALSE(result.is_refused()) << result.refusal.message;
  EXPECT_TRUE(result.is_changed());
  auto expected = make("temporal.api.workflowservice.v1.ListNamespacesResponse");
  set(add(*expected, "namespaces"), "namespace_info.name", "orders.acct42");
  set(add(*expected, "namespaces"), "namespace_info.name", "temporal-system");
  expected->GetReflection()->SetString(expected.get(), expected->GetDescriptor()->FindFieldByName("next_page_token"),
                                       "page-2");
  EXPECT_EQ(first_difference(bytes, bytes_of(*expected)), "")
      << describe("temporal.api.workflowservice.v1.ListNamespacesResponse", bytes);

  // Without a namespace list nothing is dropped.
  config::cluster_connection open = guarded();
  open.acl->allowed_namespaces.reset();
  bytes = bytes_of(*response);
  EXPECT_FALSE(inbound(open)->start_call(method(workflow, "ListNamespaces")).on_response(bytes).is_refused());
  auto all = make("temporal.api.workflowservice.v1.ListNamespacesResponse");
  ASSERT_TRUE(all->ParseFromString(bytes));
  EXPECT_EQ(all->GetReflection()->FieldSize(*all, all->GetDescriptor()->FindFieldByName("namespaces")), 4);
}

}  // namespace
}  // namespace s2s::translation::testing
