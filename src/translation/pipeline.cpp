// The filters of one side of a cluster connection, in order, and the per-call object that runs them.
#include "translation/pipeline.hpp"

#include "shards/stream_headers.hpp"
#include "translation/cluster_overrides.hpp"
#include "translation/translation_filter.hpp"

namespace s2s::translation {
namespace {

// Runs `apply` on each filter in order, adding up what they changed; the first refusal ends the run and is
// left in `done`. Returns whether no filter refused.
template <class Apply>
bool run_each(const filter_list& filters, filter_result& done, Apply apply) {
  for (const auto& filter : filters) {
    filter_result step = apply(*filter);
    done.counts += step.counts;
    if (step.is_refused()) {
      step.counts = done.counts;
      done = std::move(step);
      return false;
    }
    if (step.is_changed()) done.what = filter_result::outcome::changed;
  }
  return true;
}

}  // namespace

result<std::shared_ptr<const pipeline>> pipeline::build(const config::cluster_connection& connection,
                                                        side arrived_on, std::shared_ptr<const schema> types) {
  using failure = result<std::shared_ptr<const pipeline>>;
  auto prefix = [&](const std::string& what) {
    return "clusterConnections '" + connection.name + "' (" + std::string(to_string(arrived_on)) + "): " + what;
  };
  std::shared_ptr<pipeline> built(new pipeline(arrived_on, types));

  auto names = namespace_translator::create(connection.namespace_mappings);
  auto search_attributes = search_attribute_translator::create(connection.search_attribute_mappings);
  namespace_translator acl_names = names;
  if (!names.empty() || !search_attributes.empty() || connection.repair_utf8) {
    auto translation = translation_filter::create(types, std::move(names), std::move(search_attributes),
                                                  connection.repair_utf8);
    if (!translation) return failure::failure(prefix(translation.error()));
    std::shared_ptr<const message_filter> translator = std::move(*translation);
    built->request_filters_.push_back(translator);
    built->response_filters_.push_back(translator);
  }

  if (arrived_on == side::inbound && connection.acl) {
    auto acl = acl_filter::create(*connection.acl, types, std::move(acl_names));
    if (!acl) return failure::failure(prefix(acl.error()));
    built->acl_ = acl->get();
    std::shared_ptr<const message_filter> shared_acl = std::move(*acl);
    built->request_filters_.push_back(shared_acl);
    // Responses meet it before their translation: it filters lists by local names.
    built->response_filters_.insert(built->response_filters_.begin(), std::move(shared_acl));
  }
  if (arrived_on == side::inbound && !connection.replication_endpoint.empty()) {
    auto endpoint = replication_endpoint_override::create(*types, connection.replication_endpoint);
    if (!endpoint) return failure::failure(prefix(endpoint.error()));
    built->request_filters_.push_back(std::move(*endpoint));
  }

  std::optional<std::int64_t> failover_version_increment;
  if (const auto& fvi = connection.failover_version_increment_translation) {
    std::int64_t value = arrived_on == side::inbound ? fvi->local : fvi->remote;
    if (value != 0) failover_version_increment = value;
  }
  // The history_shard_count this side reports in DescribeCluster: in lcm mode, the least common multiple of the
  // counts, which validation keeps within int32. Validation refuses the routing mode (not implemented yet), so it
  // reaches no pipeline.
  std::optional<std::int32_t> shard_count;
  if (connection.shards.mode == config::shard_count_mode::lcm) {
    // Streams are opened by the receiving cluster: the local one when they arrive on the outbound side.
    bool local_is_client = arrived_on == side::outbound;
    const auto& map = built->stream_shards_.emplace(local_is_client ? connection.shards.local_shard_count
                                                                    : connection.shards.remote_shard_count,
                                                    local_is_client ? connection.shards.remote_shard_count
                                                                    : connection.shards.local_shard_count);
    shard_count = map.presented_count();
  }
  if (failover_version_increment || shard_count) {
    auto describe = describe_cluster_override::create(*types, failover_version_increment, shard_count);
    if (!describe) return failure::failure(prefix(describe.error()));
    built->response_filters_.push_back(std::move(*describe));
  }
  return std::shared_ptr<const pipeline>(std::move(built));
}

call_translation pipeline::start_call(std::string_view method) const {
  return call_translation(shared_from_this(), method);
}

filter_result pipeline::run(const filter_list& filters,
                            const message_context& context, std::string& bytes) const {
  filter_result done;
  run_each(filters, done, [&](const message_filter& filter) { return filter.apply(context, bytes); });
  return done;
}

filter_result pipeline::run_headers(const message_context& context, header_list& headers) const {
  filter_result done;
  for (auto& [key, value] : headers) {
    if (!is_namespace_header(key)) continue;
    bool passed = run_each(request_filters_, done, [&, &key = key, &value = value](const message_filter& filter) {
      return filter.apply_header(context, key, value);
    });
    if (!passed) break;
  }
  return done;
}

filter_result pipeline::run_status(const message_context& context, std::string& message, std::string& details) const {
  filter_result done;
  run_each(response_filters_, done,
           [&](const message_filter& filter) { return filter.apply_status(context, message, details); });
  return done;
}

bool pipeline::any_wants(const filter_list& filters, const message_context& context) {
  for (const auto& filter : filters) {
    if (filter->wants(context)) return true;
  }
  return false;
}

call_translation::call_translation(std::shared_ptr<const pipeline> owner, std::string_view method)
    : pipeline_(std::move(owner)), method_(method), types_(pipeline_->schema_->find_method(method)) {
  if (pipeline_->acl_ != nullptr) refusal_ = pipeline_->acl_->check_method(method);
  wants_requests_ = refusal_.has_value() || pipeline::any_wants(pipeline_->request_filters_, context_of(true));
  wants_responses_ = refusal_.has_value() || pipeline::any_wants(pipeline_->response_filters_, context_of(false));
  for (const auto& filter : pipeline_->request_filters_) wants_headers_ = wants_headers_ || filter->wants_headers();
  for (const auto& filter : pipeline_->response_filters_) wants_status_ = wants_status_ || filter->wants_status();
  maps_stream_shards_ = pipeline_->stream_shards_.has_value() && method == shards::replication_stream_method;
  wants_headers_ = wants_headers_ || maps_stream_shards_;
}

bool call_translation::wants_headers(const header_list& headers) const {
  if (maps_stream_shards_) return true;
  if (!wants_headers_) return false;
  for (const auto& entry : headers)
    if (is_namespace_header(entry.first)) return true;
  return false;
}

filter_result call_translation::on_request_headers(header_list& headers) {
  if (refusal_) return filter_result::refused(refusal_->code, refusal_->message);
  filter_result done = pipeline_->run_headers(context_of(true), headers);
  if (done.is_refused() || !maps_stream_shards_) return done;
  auto mapped = shards::map_stream_headers(headers, *pipeline_->stream_shards_);
  if (!mapped.problem.empty()) {
    return filter_result::refused(status_code::failed_precondition, "s2s-proxy: " + mapped.problem);
  }
  if (mapped.changed) done.what = filter_result::outcome::changed;
  mapped_stream_ = shards::lcm_stream{mapped.named, mapped.mapped};
  return done;
}

std::optional<shards::stream_shard_ids> call_translation::mapped_real_shards() const {
  if (!mapped_stream_) return std::nullopt;
  const auto& map = *pipeline_->stream_shards_;
  std::int32_t virtual_shard = mapped_stream_->mapped.client;
  return shards::stream_shard_ids{(virtual_shard - 1) % map.client_count() + 1, mapped_stream_->mapped.server};
}

filter_result call_translation::on_status(std::string& message, std::string& details) {
  return pipeline_->run_status(context_of(false), message, details);
}

filter_result call_translation::on_message(std::string& bytes, bool is_request) {
  if (refusal_) return filter_result::refused(refusal_->code, refusal_->message);
  return pipeline_->run(is_request ? pipeline_->request_filters_ : pipeline_->response_filters_,
                        context_of(is_request), bytes);
}

message_context call_translation::context_of(bool is_request) {
  message_context context;
  context.method = method_;
  context.type = types_ == nullptr ? nullptr : (is_request ? types_->request : types_->response);
  context.arrived_on = pipeline_->side_;
  context.dir = direction_of(pipeline_->side_, is_request);
  context.is_request = is_request;
  context.call = &state_;
  return context;
}

}  // namespace s2s::translation
