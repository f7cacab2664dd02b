// Writes the seed corpus of translation_fuzz: real Temporal messages that exercise every translation path.
#include <cstdio>
#include <fstream>
#include <string>

#include "temporal_messages.hpp"
#include "translation_fuzz_input.hpp"

namespace {

using namespace s2s::translation::testing;
namespace fuzz = s2s::translation::fuzz;

std::size_t root(std::string_view type) {
  for (std::size_t i = 0; i < fuzz::root_types.size(); ++i) {
    if (fuzz::root_types[i] == type)
      return i;
  }
  throw std::invalid_argument("not a fuzz root type: " + std::string(type));
}

std::unique_ptr<pb::Message> history(const names& n, const std::string& text) {
  auto h = make("temporal.api.history.v1.History");
  pb::Message& started = add(*h, "events");
  set_int(started, "event_id", 1);
  set_enum(started, "event_type", "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED");
  set(started, "workflow_execution_started_event_attributes.parent_workflow_namespace", n.ns("billing"));
  set(started, "workflow_execution_started_event_attributes.workflow_type.name", "Process" + text);
  set_payload(put(at(started, "workflow_execution_started_event_attributes.search_attributes"), "indexed_fields",
                  n.attribute("orders", "CustomerId")),
              "\"c\"");
  pb::Message& child = add(*h, "events");
  set_int(child, "event_id", 2);
  set(child, "start_child_workflow_execution_initiated_event_attributes.namespace", n.ns("orders"));
  pb::Message& signal = add(*h, "events");
  set(signal, "signal_external_workflow_execution_initiated_event_attributes.namespace", n.ns("billing"));
  set(signal, "signal_external_workflow_execution_initiated_event_attributes.namespace_id", billing_id);
  pb::Message& cancel = add(*h, "events");
  set(cancel, "request_cancel_external_workflow_execution_initiated_event_attributes.namespace", "payments");
  return h;
}

void write(const std::string& directory, const std::string& name, const std::string& input) {
  std::ofstream out(directory + "/" + name, std::ios::binary);
  out << input;
  if (!out)
    throw std::runtime_error("cannot write " + directory + "/" + name);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIRECTORY\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const std::uint8_t request_l2r = fuzz::flag_request;
  const std::uint8_t response_r2l = fuzz::flag_remote_to_local;
  for (const names* n : {&local_names, &remote_names}) {
    std::string side = n->remote ? "remote" : "local";
    std::uint8_t request_flags = n->remote ? request_l2r | fuzz::flag_remote_to_local : request_l2r;
    std::uint8_t response_flags = n->remote ? response_r2l : 0;

    auto start = make("temporal.api.workflowservice.v1.StartWorkflowExecutionRequest");
    set(*start, "namespace", n->ns("orders"));
    set(*start, "workflow_id", "order-1");
    set_payload(put(*start, "search_attributes.indexed_fields", n->attribute("orders", "CustomerId")), "\"c\"");
    set(add(*start, "links"), "workflow_event.namespace", n->ns("billing"));
    write(dir, "start_workflow_" + side,
          fuzz::encode_input(root("temporal.api.workflowservice.v1.StartWorkflowExecutionRequest"), request_flags,
                             bytes_of(*start)));

    auto poll = make("temporal.api.workflowservice.v1.PollWorkflowTaskQueueResponse");
    at(*poll, "history").CopyFrom(*history(*n, ""));
    write(dir, "poll_workflow_task_" + side,
          fuzz::encode_input(root("temporal.api.workflowservice.v1.PollWorkflowTaskQueueResponse"), response_flags,
                             bytes_of(*poll)));

    auto stream = make("temporal.server.api.adminservice.v1.StreamWorkflowReplicationMessagesResponse");
    for (std::string_view id : {orders_id, billing_id}) {
      pb::Message& task = add(*stream, "messages.replication_tasks");
      set_enum(task, "task_type", "REPLICATION_TASK_TYPE_HISTORY_V2_TASK");
      set(task, "history_task_attributes.namespace_id", id);
      set_history_blob(at(task, "history_task_attributes.events"), *history(*n, ""));
      set_history_blob(add(task, "history_task_attributes.events_batches"), *history(*n, ""));
    }
    write(dir, "stream_replication_" + side,
          fuzz::encode_input(root("temporal.server.api.adminservice.v1.StreamWorkflowReplicationMessagesResponse"),
                             response_flags, bytes_of(*stream)));

    auto namespace_task = make("temporal.server.api.adminservice.v1.GetNamespaceReplicationMessagesResponse");
    pb::Message& task = add(*namespace_task, "messages.replication_tasks");
    set_enum(task, "task_type", "REPLICATION_TASK_TYPE_NAMESPACE_TASK");
    set(task, "namespace_task_attributes.id", orders_id);
    set(task, "namespace_task_attributes.info.name", n->ns("orders"));
    write(dir, "namespace_replication_" + side,
          fuzz::encode_input(root("temporal.server.api.adminservice.v1.GetNamespaceReplicationMessagesResponse"),
                             response_flags, bytes_of(*namespace_task)));

    auto raw = make("temporal.server.api.adminservice.v1.GetWorkflowExecutionRawHistoryV2Response");
    set_history_blob(add(*raw, "history_batches"), *history(*n, ""));
    write(dir, "raw_history_" + side,
          fuzz::encode_input(root("temporal.server.api.adminservice.v1.GetWorkflowExecutionRawHistoryV2Response"),
                             response_flags, bytes_of(*raw)));
  }

  auto invalid_utf8 = history(local_names, "\xC3(\xFF\xE2\x82");
  write(dir, "history_invalid_utf8",
        fuzz::encode_input(root("temporal.api.history.v1.History"), 0, bytes_of(*invalid_utf8)));

  auto mutable_state = make("temporal.server.api.adminservice.v1.DescribeMutableStateResponse");
  pb::Message& info = at(*mutable_state, "database_mutable_state.execution_info");
  set(info, "namespace_id", orders_id);
  set_payload(put(info, "search_attributes", "CustomerId"), "\"c\"");
  write(dir, "mutable_state",
        fuzz::encode_input(root("temporal.server.api.adminservice.v1.DescribeMutableStateResponse"), 0,
                           bytes_of(*mutable_state)));

  auto cluster = make("temporal.server.api.adminservice.v1.DescribeClusterResponse");
  set(*cluster, "cluster_name", "cluster-a");
  set_int(*cluster, "failover_version_increment", 10);
  write(dir, "describe_cluster",
        fuzz::encode_input(root("temporal.server.api.adminservice.v1.DescribeClusterResponse"), 0, bytes_of(*cluster)));
  return 0;
}
