// The input layout of translation_fuzz, shared with its seed writer: [root type][flags][message bytes].
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace s2s::translation::fuzz {

// Message types the fuzzer feeds to the rewriter; the first byte of an input picks one (modulo the count).
inline constexpr std::array<std::string_view, 14> root_types = {
    "temporal.api.workflowservice.v1.StartWorkflowExecutionRequest",
    "temporal.api.workflowservice.v1.PollWorkflowTaskQueueResponse",
    "temporal.server.api.adminservice.v1.StreamWorkflowReplicationMessagesResponse",
    "temporal.server.api.adminservice.v1.GetNamespaceReplicationMessagesResponse",
    "temporal.server.api.adminservice.v1.GetWorkflowExecutionRawHistoryV2Response",
    "temporal.api.workflowservice.v1.DescribeNamespaceResponse",
    "temporal.api.history.v1.History",
    "temporal.api.workflowservice.v1.RespondWorkflowTaskCompletedRequest",
    "temporal.server.api.adminservice.v1.DescribeMutableStateResponse",
    "temporal.server.api.adminservice.v1.GetReplicationMessagesResponse",
    "temporal.api.workflowservice.v1.SignalWithStartWorkflowExecutionRequest",
    "temporal.server.api.adminservice.v1.ReapplyEventsRequest",
    "temporal.api.workflowservice.v1.GetWorkflowExecutionHistoryResponse",
    "temporal.server.api.adminservice.v1.DescribeClusterResponse",
};

inline constexpr std::uint8_t flag_remote_to_local = 1;
inline constexpr std::uint8_t flag_request = 2;

inline std::string encode_input(std::size_t root, std::uint8_t flags, std::string_view message) {
  std::string input;
  input.push_back(static_cast<char>(root));
  input.push_back(static_cast<char>(flags));
  input.append(message);
  return input;
}

}  // namespace s2s::translation::fuzz
