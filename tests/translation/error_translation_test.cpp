// Temporal's errors name only the caller's side's namespaces: status messages (whole words only) and every
// detail of grpc-status-details-bin the schema knows, in both directions; namespace headers are renamed; a
// remote caller naming a local name of a mapping gets NOT_FOUND.
#include <gtest/gtest.h>

#include "temporal_messages.hpp"
#include "translation/error_translation.hpp"
#include "translation/wire.hpp"

namespace s2s::translation::testing {
namespace {

constexpr std::string_view workflow = "/temporal.api.workflowservice.v1.WorkflowService/";
constexpr std::string_view errordetails = "temporal.api.errordetails.v1.";

std::string method(std::string_view name) { return std::string(workflow) + std::string(name); }

std::string replaced(std::string_view text, const string_map<std::string>& names) {
  std::string out;
  return replace_names_in_text(text, {&names}, out) == 0 ? std::string(text) : out;
}

TEST(StatusMessageNames, AWholeWordIsReplaced) {
  string_map<std::string> names{{"ghost", "ghost-b"}};
  EXPECT_EQ(replaced("Namespace ghost is not found.", names), "Namespace ghost-b is not found.");
  EXPECT_EQ(replaced("Namespace unavailable: \"ghost\".", names), "Namespace unavailable: \"ghost-b\".");
  EXPECT_EQ(replaced("namespace 'ghost'", names), "namespace 'ghost-b'");
  EXPECT_EQ(replaced("ghost", names), "ghost-b");
  EXPECT_EQ(replaced("unknown namespace: ghost.", names), "unknown namespace: ghost-b.");
  EXPECT_EQ(replaced("Namespace: ghost is active in cluster: a, while current cluster b is a standby cluster.", names),
            "Namespace: ghost-b is active in cluster: a, while current cluster b is a standby cluster.");
  EXPECT_EQ(replaced("ghost,ghost;(ghost)", names), "ghost-b,ghost-b;(ghost-b)");
}

TEST(StatusMessageNames, ANameInsideAnotherNameIsLeftAlone) {
  string_map<std::string> names{{"orders", "orders-b"}};
  for (std::string_view text : {"orders-b", "orders.acct42", "xorders", "orders_1", "my.orders", "orders2",
                                "Namespace orders-b is not found.", "ordersorders"}) {
    EXPECT_EQ(replaced(text, names), text);
  }
}

TEST(StatusMessageNames, TheLongestNameWinsAndReplacementsAreNotLookedIntoAgain) {
  // Chained mappings: a replacement that is itself a mapped name is not replaced once more.
  string_map<std::string> names{{"orders", "orders.acct42"}, {"orders.acct42", "x"}, {"b", "orders"}};
  EXPECT_EQ(replaced("orders.acct42 and orders, b.", names), "x and orders.acct42, orders.");
}

// The four namespace failures Temporal returns, naming `ns` (and cluster names, which are not renamed).
std::vector<status_detail> namespace_failures(std::string_view ns) {
  std::vector<status_detail> out;
  auto not_found = make(std::string(errordetails) + "NamespaceNotFoundFailure");
  set(*not_found, "namespace", ns);
  out.push_back({not_found->GetDescriptor()->full_name(), bytes_of(*not_found)});
  auto not_active = make(std::string(errordetails) + "NamespaceNotActiveFailure");
  set(*not_active, "namespace", ns);
  set(*not_active, "current_cluster", "cluster-b");
  set(*not_active, "active_cluster", "cluster-a");
  out.push_back({not_active->GetDescriptor()->full_name(), bytes_of(*not_active)});
  auto invalid_state = make(std::string(errordetails) + "NamespaceInvalidStateFailure");
  set(*invalid_state, "namespace", ns);
  set_enum(*invalid_state, "state", "NAMESPACE_STATE_DELETED");
  out.push_back({invalid_state->GetDescriptor()->full_name(), bytes_of(*invalid_state)});
  auto unavailable = make(std::string(errordetails) + "NamespaceUnavailableFailure");
  set(*unavailable, "namespace", ns);
  out.push_back({unavailable->GetDescriptor()->full_name(), bytes_of(*unavailable)});
  return out;
}

struct status_result {
  std::string message;
  std::string details;
  filter_result result;
};

// The status of a call of `rpc` arriving on `arrived_on`, after its request `request` (may be empty).
status_result translate_status(side arrived_on, const std::string& rpc, std::string message, std::string details,
                               const std::string& request = {}) {
  auto built = pipeline::build(test_connection(), arrived_on, temporal_schema());
  if (!built)
    throw std::runtime_error(built.error());
  call_translation call = (*built)->start_call(rpc);
  if (!request.empty()) {
    std::string bytes = request;
    EXPECT_FALSE(call.on_request(bytes).is_refused());
  }
  EXPECT_TRUE(call.wants_status());
  status_result out;
  out.result = call.on_status(message, details);
  out.message = std::move(message);
  out.details = std::move(details);
  return out;
}

TEST(StatusTranslation, TheInboundSideGivesTheRemoteCallerItsNamesInTheMessageAndEveryNamespaceFailure) {
  // The remote side asked for orders.acct42; the local frontend answers in local names.
  std::string message = "Namespace orders is not found.";
  auto out = translate_status(side::inbound, method("DescribeNamespace"), message,
                              status_bytes(5, message, namespace_failures("orders")));
  ASSERT_FALSE(out.result.is_refused()) << out.result.refusal.message;
  EXPECT_TRUE(out.result.is_changed());
  EXPECT_EQ(out.message, "Namespace orders.acct42 is not found.");
  auto decoded = decode_status(out.details);
  EXPECT_EQ(decoded.code, 5u);
  EXPECT_EQ(decoded.message, "Namespace orders.acct42 is not found.");
  ASSERT_EQ(decoded.details.size(), 4u);
  for (const auto& d : decoded.details)
    EXPECT_EQ(field_of(d, "namespace"), "orders.acct42") << d.type;
  EXPECT_EQ(field_of(decoded.details[1], "current_cluster"), "cluster-b");
  EXPECT_EQ(field_of(decoded.details[1], "active_cluster"), "cluster-a");
  EXPECT_EQ(out.result.counts.namespaces, 6u);  // two texts, four details
}

TEST(StatusTranslation, TheOutboundSideGivesTheLocalCallerItsNamesAndTheWayBackIsTheIdentity) {
  std::string local_message =
      "Namespace: billing is active in cluster: cluster-a, while current cluster cluster-b "
      "is a standby cluster.";
  std::string local_details = status_bytes(9, local_message, namespace_failures("billing"));
  auto there = translate_status(side::inbound, method("StartWorkflowExecution"), local_message, local_details);
  ASSERT_FALSE(there.result.is_refused());
  EXPECT_NE(there.details, local_details);
  EXPECT_NE(there.message.find("billing.acct42 is active"), std::string::npos) << there.message;

  auto back = translate_status(side::outbound, method("StartWorkflowExecution"), there.message, there.details);
  ASSERT_FALSE(back.result.is_refused());
  EXPECT_EQ(back.message, local_message);
  EXPECT_EQ(first_difference(back.details, local_details), "");
}

TEST(StatusTranslation, UnknownDetailTypesAndUnknownFieldsPassAsTheyAre) {
  std::string details = status_bytes(5, "nothing to rename", {{"example.v1.Opaque", "orders"}});
  wire::append_tag(details, 9, wire::wire_type::varint);  // a field google.rpc.Status does not have
  wire::append_varint(details, 7);
  auto out = translate_status(side::inbound, method("DescribeNamespace"), "nothing to rename", details);
  ASSERT_FALSE(out.result.is_refused());
  EXPECT_FALSE(out.result.is_changed());
  EXPECT_EQ(out.details, details);
}

TEST(StatusTranslation, SearchAttributeNamesOfTheCallsNamespaceAreRenamedInTheMessage) {
  auto request = make("temporal.api.workflowservice.v1.ListWorkflowExecutionsRequest");
  set(*request, "namespace", remote_names.ns("orders"));
  set(*request, "query", "CustomerIdAcct42 = 'c-1'");
  auto out = translate_status(side::inbound, method("ListWorkflowExecutions"),
                              "invalid query: search attribute CustomerId is not defined in namespace orders", "",
                              bytes_of(*request));
  EXPECT_EQ(out.message, "invalid query: search attribute CustomerIdAcct42 is not defined in namespace orders.acct42");
}

TEST(StatusTranslation, MalformedDetailsAreReportedNotPassedOn) {
  auto out = translate_status(side::inbound, method("DescribeNamespace"), "Namespace orders is not found.",
                              std::string("\x1a\x05\x0a\x09", 4));
  ASSERT_TRUE(out.result.is_refused());
  EXPECT_EQ(out.result.refusal.code, status_code::invalid_argument);
  EXPECT_NE(out.result.refusal.message.find("google.rpc.Status"), std::string::npos) << out.result.refusal.message;
  EXPECT_EQ(out.message, "Namespace orders.acct42 is not found.");
}

header_list headers_of(std::string_view ns) {
  return {{"client-name", "temporal-go"},
          {"temporal-namespace", std::string(ns)},
          {"caller-name", std::string(ns)},
          {"x-orders", "orders"}};
}

TEST(NamespaceHeaders, TheRoutingHeaderAndCallerNameAreRenamedBothWays) {
  auto inbound = *pipeline::build(test_connection(), side::inbound, temporal_schema());
  call_translation in_call = inbound->start_call(method("StartWorkflowExecution"));
  ASSERT_TRUE(in_call.wants_headers());
  header_list headers = headers_of("orders.acct42");
  filter_result result = in_call.on_request_headers(headers);
  ASSERT_TRUE(result.is_changed()) << result.refusal.message;
  EXPECT_EQ(headers, (header_list{{"client-name", "temporal-go"},
                                  {"temporal-namespace", "orders"},
                                  {"caller-name", "orders"},
                                  {"x-orders", "orders"}}));
  EXPECT_EQ(result.counts.namespaces, 2u);

  auto outbound = *pipeline::build(test_connection(), side::outbound, temporal_schema());
  call_translation out_call = outbound->start_call(method("StartWorkflowExecution"));
  headers = headers_of("orders");
  ASSERT_TRUE(out_call.on_request_headers(headers).is_changed());
  EXPECT_EQ(headers[1].second, "orders.acct42");
  EXPECT_EQ(headers[2].second, "orders.acct42");
  EXPECT_EQ(headers[3].second, "orders");
}

TEST(NamespaceIsolation, ARemoteCallerNamingALocalNameGetsNotFoundWithTheNameItUsed) {
  auto inbound = *pipeline::build(test_connection(), side::inbound, temporal_schema());
  auto request = make("temporal.api.workflowservice.v1.DescribeNamespaceRequest");
  set(*request, "namespace", "orders");
  std::string bytes = bytes_of(*request);
  call_translation call = inbound->start_call(method("DescribeNamespace"));
  filter_result result = call.on_request(bytes);
  ASSERT_TRUE(result.is_refused());
  EXPECT_EQ(result.refusal.code, status_code::not_found);
  EXPECT_NE(result.refusal.message.find("'orders'"), std::string::npos) << result.refusal.message;
  EXPECT_EQ(result.refusal.message.find("acct42"), std::string::npos) << result.refusal.message;
  auto details = decode_status(result.refusal.details);
  EXPECT_EQ(details.code, 5u);
  ASSERT_EQ(details.details.size(), 1u);
  EXPECT_EQ(details.details[0].type, std::string(errordetails) + "NamespaceNotFoundFailure");
  EXPECT_EQ(field_of(details.details[0], "namespace"), "orders");

  // The remote name, and a name no mapping knows, go through.
  for (std::string_view name : {"orders.acct42", "payments"}) {
    set(*request, "namespace", name);
    bytes = bytes_of(*request);
    call_translation ok = inbound->start_call(method("DescribeNamespace"));
    EXPECT_FALSE(ok.on_request(bytes).is_refused()) << name;
  }

  // The routing header alone is enough to refuse.
  header_list headers = headers_of("billing");
  call_translation by_header = inbound->start_call(method("DescribeNamespace"));
  filter_result refused = by_header.on_request_headers(headers);
  ASSERT_TRUE(refused.is_refused());
  EXPECT_EQ(refused.refusal.code, status_code::not_found);
  EXPECT_NE(refused.refusal.message.find("'billing'"), std::string::npos);
}

TEST(NamespaceIsolation, TheLocalSideMayStillCallOutWithAnyName) {
  auto outbound = *pipeline::build(test_connection(), side::outbound, temporal_schema());
  auto request = make("temporal.api.workflowservice.v1.DescribeNamespaceRequest");
  set(*request, "namespace", "orders.acct42");
  std::string bytes = bytes_of(*request);
  call_translation call = outbound->start_call(method("DescribeNamespace"));
  EXPECT_FALSE(call.on_request(bytes).is_refused());
}

}  // namespace
}  // namespace s2s::translation::testing
