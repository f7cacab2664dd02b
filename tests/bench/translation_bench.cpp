// Benchmark of the translation core on replication traffic (history blobs of 100 events, 1-64 KiB payloads,
// namespaces in and outside the mapping) against parsing and re-serializing with protobuf dynamic messages, and
// what shardCount lcm and routing add to it.
#include <benchmark/benchmark.h>
#include <google/protobuf/dynamic_message.h>

#include <cstdio>
#include <map>
#include <random>

#include "temporal_messages.hpp"
#include "translation/replication_switch.hpp"

namespace {

using namespace s2s::translation;
using namespace s2s::translation::testing;

constexpr std::string_view stream_method =
    "/temporal.server.api.adminservice.v1.AdminService/StreamWorkflowReplicationMessages";
constexpr int events_per_blob = 100;
constexpr int messages_in_pool = 8;  // half in a mapped namespace, half outside the mapping

// One replication message: a history task whose blob holds 100 events of a typical workflow, four in ten
// carrying a payload of `payload_size` random bytes.
std::string replication_message(const names& n, bool mapped, std::size_t payload_size, std::mt19937_64& rng) {
  std::string ns = mapped ? "orders" : "payments";
  auto payload = [&](pb::Message& payloads) {
    std::string data(payload_size, '\0');
    for (char& c : data)
      c = static_cast<char>(rng());
    pb::Message& p = add(payloads, "payloads");
    put_string(p, "metadata", "encoding", "binary/plain");
    set(p, "data", data);
  };
  auto history = make("temporal.api.history.v1.History");
  for (int id = 1; id <= events_per_blob; ++id) {
    pb::Message& event = add(*history, "events");
    set_int(event, "event_id", id);
    set_int(event, "event_time.seconds", 1700000000 + id);
    set_int(event, "version", 101);
    set_int(event, "task_id", 5000000 + id);
    switch (id % 10) {
      case 1: {
        pb::Message& a = at(event, "activity_task_scheduled_event_attributes");
        set(a, "activity_id", std::to_string(id));
        set(a, "activity_type.name", "ChargeCard");
        set(a, "task_queue.name", "orders-activities");
        payload(at(a, "input"));
        break;
      }
      case 2:
        set(event, "activity_task_started_event_attributes.identity", "worker-17@host-3");
        set(event, "activity_task_started_event_attributes.request_id", "1f0e2d3c-4b5a");
        break;
      case 3:
        payload(at(event, "activity_task_completed_event_attributes.result"));
        set(event, "activity_task_completed_event_attributes.identity", "worker-17@host-3");
        break;
      case 4: {
        pb::Message& s = at(event, "signal_external_workflow_execution_initiated_event_attributes");
        set(s, "namespace", n.ns(ns));
        set(s, "workflow_execution.workflow_id", "invoice-" + std::to_string(id));
        set(s, "signal_name", "paid");
        payload(at(s, "input"));
        break;
      }
      case 5: {
        pb::Message& c = at(event, "start_child_workflow_execution_initiated_event_attributes");
        set(c, "namespace", n.ns(ns));
        set(c, "workflow_id", "ship-" + std::to_string(id));
        set(c, "workflow_type.name", "Ship");
        set_payload(put(at(c, "search_attributes"), "indexed_fields", n.attribute(ns, "CustomerId")), "\"c-42\"");
        payload(at(c, "input"));
        break;
      }
      case 6:
        set_payload(put(at(event, "upsert_workflow_search_attributes_event_attributes.search_attributes"),
                        "indexed_fields", n.attribute(ns, "Region")),
                    "\"eu\"");
        break;
      case 7:
        set(event, "workflow_task_scheduled_event_attributes.task_queue.name", "orders");
        break;
      case 8:
        set(event, "workflow_task_started_event_attributes.identity", "worker-17@host-3");
        break;
      case 9:
        set(event, "workflow_task_completed_event_attributes.identity", "worker-17@host-3");
        break;
      default: {
        pb::Message& r = at(event, "request_cancel_external_workflow_execution_initiated_event_attributes");
        set(r, "namespace", n.ns(ns));
        set(r, "workflow_execution.workflow_id", "ship-" + std::to_string(id - 5));
        break;
      }
    }
  }
  auto m = make("temporal.server.api.adminservice.v1.StreamWorkflowReplicationMessagesResponse");
  pb::Message& task = add(*m, "messages.replication_tasks");
  set_enum(task, "task_type", "REPLICATION_TASK_TYPE_HISTORY_V2_TASK");
  set_int(task, "source_task_id", 77);
  set(task, "history_task_attributes.namespace_id", mapped ? orders_id : "0b1c2d3e-payments");
  set(task, "history_task_attributes.workflow_id", "order-1234");
  set(task, "history_task_attributes.run_id", "8e7d6c5b-run");
  pb::Message& item = add(task, "history_task_attributes.version_history_items");
  set_int(item, "event_id", events_per_blob);
  set_int(item, "version", 101);
  set_history_blob(at(task, "history_task_attributes.events"), *history);
  set_int(*m, "messages.exclusive_high_watermark", 78);
  return bytes_of(*m);
}

std::vector<std::string> message_pool(std::size_t payload_size) {
  std::vector<std::string> pool;
  for (int i = 0; i < messages_in_pool; ++i) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(i));
    pool.push_back(replication_message(local_names, i % 2 == 0, payload_size, rng));
  }
  return pool;
}

std::size_t total_size(const std::vector<std::string>& pool) {
  std::size_t total = 0;
  for (const auto& m : pool)
    total += m.size();
  return total;
}

std::shared_ptr<const pipeline> outbound(const s2s::config::cluster_connection& connection) {
  auto built = pipeline::build(connection, side::outbound, temporal_schema());
  if (!built)
    throw std::runtime_error(built.error());
  return *built;
}

// What a message-based translator must at least do: parse the message and serialize it again.
void baseline(benchmark::State& state, std::size_t payload_size, bool into_blobs) {
  std::vector<std::string> pool = message_pool(payload_size);
  const pb::Descriptor* type =
      temporal_schema()->find_message("temporal.server.api.adminservice.v1.StreamWorkflowReplicationMessagesResponse");
  const pb::Descriptor* history_type = temporal_schema()->find_message("temporal.api.history.v1.History");
  pb::DynamicMessageFactory factory(&temporal_schema()->pool());
  std::size_t i = 0;
  for (auto _ : state) {
    const std::string& in = pool[i++ % pool.size()];
    std::unique_ptr<pb::Message> message(factory.GetPrototype(type)->New());
    message->ParseFromString(in);
    if (into_blobs) {
      pb::Message& blob = at(*message, "messages");
      const pb::FieldDescriptor* tasks = blob.GetDescriptor()->FindFieldByName("replication_tasks");
      pb::Message* task = blob.GetReflection()->MutableRepeatedMessage(&blob, tasks, 0);
      pb::Message& events = at(*task, "history_task_attributes.events");
      const pb::FieldDescriptor* data = events.GetDescriptor()->FindFieldByName("data");
      std::unique_ptr<pb::Message> history(factory.GetPrototype(history_type)->New());
      history->ParseFromString(events.GetReflection()->GetString(events, data));
      events.GetReflection()->SetString(&events, data, history->SerializeAsString());
    }
    std::string out = message->SerializeAsString();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_size(pool) / pool.size()));
}

// Runs every message through a call of `outbound`'s pipeline, alternating local→remote passes with
// remote→local passes over the pool, so each message is translated in place with no copy made by the benchmark.
void translation(benchmark::State& state, std::size_t payload_size, const s2s::config::cluster_connection& config) {
  std::vector<std::string> pool = message_pool(payload_size);
  auto outbound_side = outbound(config);
  auto inbound_built = pipeline::build(config, side::inbound, temporal_schema());
  std::shared_ptr<const pipeline> inbound_side = *inbound_built;
  // Outbound responses go remote→local; inbound responses local→remote.
  call_translation to_remote = inbound_side->start_call(stream_method);
  call_translation to_local = outbound_side->start_call(stream_method);
  std::size_t i = 0;
  std::int64_t changed = 0;
  for (auto _ : state) {
    std::size_t pass = i / pool.size();
    std::string& bytes = pool[i++ % pool.size()];
    filter_result result = pass % 2 == 0 ? to_remote.on_response(bytes) : to_local.on_response(bytes);
    if (result.is_refused()) {
      state.SkipWithError(result.refusal.message.c_str());
      break;
    }
    changed += result.is_changed() ? 1 : 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_size(pool) / pool.size()));
  state.counters["changed_share"] = static_cast<double>(changed) / static_cast<double>(state.iterations());
}

// Plain translation, then what shardCount routing adds per task: the source's response read and routed, the target's
// response written, the target's ack read and the source's ack written. Each message is a batch of one task, the
// dearest case (a batch's reading and writing is shared by its tasks); the source is restarted after each so that the
// pool's fixed ids are new to it again, which costs the switch a little more than a live stream does.
void translation_routing(benchmark::State& state, std::size_t payload_size,
                         const s2s::config::cluster_connection& config) {
  std::vector<std::string> pool = message_pool(payload_size);
  auto outbound_side = outbound(config);
  auto inbound_built = pipeline::build(config, side::inbound, temporal_schema());
  std::shared_ptr<const pipeline> inbound_side = *inbound_built;
  call_translation to_remote = inbound_side->start_call(stream_method);
  call_translation to_local = outbound_side->start_call(stream_method);
  replication_codec codec(*replication_fields_of(*temporal_schema()));
  replication_switch routes(codec, 1, 3, nullptr);
  std::size_t i = 0;
  std::int64_t sent = 0;
  for (auto _ : state) {
    std::size_t pass = i / pool.size();
    std::string& bytes = pool[i++ % pool.size()];
    filter_result result = pass % 2 == 0 ? to_remote.on_response(bytes) : to_local.on_response(bytes);
    auto routed = routes.from_source(1, bytes);
    if (result.is_refused() || !routed || routed->targets.size() != 1) {
      state.SkipWithError("a task was not translated or not routed to one target");
      break;
    }
    replication_state applied;
    applied.overall.inclusive_low_watermark = ++sent + 1;
    auto acked = routes.from_target(routed->targets.front().target, codec.write_request(applied));
    if (!acked || acked->sources.size() != 1) {
      state.SkipWithError("the target's ack did not reach the source");
      break;
    }
    benchmark::DoNotOptimize(acked->sources.front().message.data());
    routes.source_restarted(1);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_size(pool) / pool.size()));
}

s2s::config::cluster_connection full_config() { return test_connection(); }

s2s::config::cluster_connection no_translation_config() {
  s2s::config::cluster_connection config = test_connection();
  config.namespace_mappings.clear();
  config.search_attribute_mappings.clear();
  config.repair_utf8 = false;
  return config;
}

s2s::config::cluster_connection names_only_config() {
  s2s::config::cluster_connection config = test_connection();
  config.repair_utf8 = false;
  return config;
}

// The same connection with clusters of 2 (local) and 3 (remote) shards, in shardCount lcm mode.
s2s::config::cluster_connection with_lcm(s2s::config::cluster_connection config) {
  config.shards = {s2s::config::shard_count_mode::lcm, 2, 3};
  return config;
}

// What a replication stream costs when it opens: the call's start and its metadata, plain or with its shard ids
// mapped (lcm). Nothing else differs per stream; per task nothing differs at all.
void stream_open(benchmark::State& state, const s2s::config::cluster_connection& config) {
  auto outbound_side = outbound(config);
  const header_list opened = {{"temporal-client-cluster-id", "1"},
                              {"temporal-client-shard-id", "1"},
                              {"temporal-server-cluster-id", "2"},
                              {"temporal-server-shard-id", "5"},
                              {"xdc-redirection", "true"}};
  for (auto _ : state) {
    call_translation call = outbound_side->start_call(stream_method);
    header_list headers = opened;
    if (call.wants_headers(headers)) {
      filter_result result = call.on_request_headers(headers);
      if (result.is_refused()) {
        state.SkipWithError(result.refusal.message.c_str());
        break;
      }
    }
    benchmark::DoNotOptimize(headers.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// Collects messages/s per benchmark to print the ratios to the baseline at the end.
class ratio_reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      // With --benchmark_repetitions the median stands for the benchmark.
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "median")
        continue;
      auto it = run.counters.find("items_per_second");
      if (it != run.counters.end())
        rates[run.run_name.str()] = it->second;
    }
  }
  std::map<std::string, double> rates;
};

}  // namespace

int main(int argc, char** argv) {
  const std::size_t sizes_kib[] = {1, 4, 16, 64};
  for (std::size_t kib : sizes_kib) {
    std::string suffix = "/" + std::to_string(kib) + "KiB";
    std::size_t size = kib * 1024;
    benchmark::RegisterBenchmark(("baseline_parse_serialize" + suffix).c_str(),
                                 [size](benchmark::State& s) { baseline(s, size, false); });
    benchmark::RegisterBenchmark(("baseline_parse_serialize_with_blobs" + suffix).c_str(),
                                 [size](benchmark::State& s) { baseline(s, size, true); });
    benchmark::RegisterBenchmark(("a_type_needs_no_translation" + suffix).c_str(),
                                 [size](benchmark::State& s) { translation(s, size, no_translation_config()); });
    benchmark::RegisterBenchmark(("b_needs_translation" + suffix).c_str(),
                                 [size](benchmark::State& s) { translation(s, size, full_config()); });
    benchmark::RegisterBenchmark(("b_needs_translation_names_only" + suffix).c_str(),
                                 [size](benchmark::State& s) { translation(s, size, names_only_config()); });
    benchmark::RegisterBenchmark(("c_needs_translation_lcm" + suffix).c_str(),
                                 [size](benchmark::State& s) { translation(s, size, with_lcm(full_config())); });
    benchmark::RegisterBenchmark(("d_needs_translation_routing" + suffix).c_str(),
                                 [size](benchmark::State& s) { translation_routing(s, size, full_config()); });
  }
  benchmark::RegisterBenchmark("stream_open_plain", [](benchmark::State& s) { stream_open(s, full_config()); });
  benchmark::RegisterBenchmark("stream_open_lcm", [](benchmark::State& s) { stream_open(s, with_lcm(full_config())); });
  benchmark::Initialize(&argc, argv);
  ratio_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::printf("\nmessages/s per core relative to the baselines (targets: a >= 20x, b >= 3x)\n");
  std::printf("payload | a vs outer | b vs outer | b names-only vs outer | b vs with-blobs\n");
  for (std::size_t kib : sizes_kib) {
    std::string suffix = "/" + std::to_string(kib) + "KiB";
    double outer = reporter.rates["baseline_parse_serialize" + suffix];
    double with_blobs = reporter.rates["baseline_parse_serialize_with_blobs" + suffix];
    if (outer <= 0 || with_blobs <= 0)
      continue;
    double b = reporter.rates["b_needs_translation" + suffix];
    std::printf("%3zu KiB | %9.0fx | %9.1fx | %20.1fx | %14.1fx\n", kib,
                reporter.rates["a_type_needs_no_translation" + suffix] / outer, b / outer,
                reporter.rates["b_needs_translation_names_only" + suffix] / outer, b / with_blobs);
  }
  // Time per replicated task of a shardCount mode against plain (the same translation otherwise).
  auto against_plain = [&](const char* mode, const std::string& benchmark) {
    std::printf("\nshardCount %s against plain (the same translation otherwise), time per replicated task\n", mode);
    std::printf("payload | plain ns | %s ns | extra ns\n", mode);
    for (std::size_t kib : sizes_kib) {
      std::string suffix = "/" + std::to_string(kib) + "KiB";
      double plain = reporter.rates["b_needs_translation" + suffix];
      double with_mode = reporter.rates[benchmark + suffix];
      if (plain <= 0 || with_mode <= 0)
        continue;
      std::printf("%3zu KiB | %8.0f | %8.0f | %+8.0f (%+.1f%%)\n", kib, 1e9 / plain, 1e9 / with_mode,
                  1e9 / with_mode - 1e9 / plain, 100.0 * (plain / with_mode - 1.0));
    }
  };
  against_plain("lcm", "c_needs_translation_lcm");
  against_plain("routing", "d_needs_translation_routing");
  double open_plain = reporter.rates["stream_open_plain"], open_lcm = reporter.rates["stream_open_lcm"];
  if (open_plain > 0 && open_lcm > 0)
    std::printf("stream opening: plain %.0f ns, lcm %.0f ns (once per stream, not per task)\n", 1e9 / open_plain,
                1e9 / open_lcm);
  return 0;
}
