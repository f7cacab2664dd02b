// The filters of one side of a cluster connection, in order, and the per-call object that runs them.
#include "translation/pipeline.hpp"

#include "shards/stream_headers.hpp"
#include "translation/cluster_overrides.hpp"
#include "translation/translation_filter.hpp"

namespace s2s::translation {
namespace {

// The filters the config gives one side: build() makes them, needs_schema() and build_method_checks() read them.
struct side_filters {
  bool translation = false;  // renaming, or UTF-8 repair alone
  bool renames = false;      // namespace or search attribute renaming
  bool acl = false;
  bool acl_namespaces = false;  // the namespace checks of the ACL, which read messages
  bool replication_endpoint = false;
  std::optional<std::int64_t> failover_version_increment;  // 0 in the config: this side's answer passes unchanged
  bool shard_count = false;                                // lcm
  bool routing = false;
};

side_filters filters_of(const config::cluster_connection& connection, side arrived_on) {
  side_filters wanted;
  bool inbound = arrived_on == side::inbound;
  wanted.renames = !connection.namespace_mappings.empty() || !connection.search_attribute_mappings.empty();
  wanted.translation = wanted.renames || connection.repair_utf8;
  wanted.acl = inbound && connection.acl;
  wanted.acl_namespaces = wanted.acl && connection.acl->allowed_namespaces;
  wanted.replication_endpoint = inbound && !connection.replication_endpoint.empty();
  if (const auto& fvi = connection.failover_version_increment_translation) {
    std::int64_t value = inbound ? fvi->local : fvi->remote;
    if (value != 0)
      wanted.failover_version_increment = value;
  }
  wanted.shard_count = connection.shards.mode == config::shard_count_mode::lcm;
  wanted.routing = connection.shards.mode == config::shard_count_mode::routing;
  return wanted;
}

std::string problem_of(const config::cluster_connection& connection, side arrived_on, const std::string& what) {
  return "clusterConnections '" + connection.name + "' (" + std::string(to_string(arrived_on)) + "): " + what;
}

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
    if (step.is_changed())
      done.what = filter_result::outcome::changed;
  }
  return true;
}

}  // namespace

result<std::shared_ptr<const pipeline>> pipeline::build(const config::cluster_connection& connection, side arrived_on,
                                                        std::shared_ptr<const schema> types) {
  using failure = result<std::shared_ptr<const pipeline>>;
  auto wanted = filters_of(connection, arrived_on);
  std::shared_ptr<pipeline> built(new pipeline(arrived_on, types));

  auto names = namespace_translator::create(connection.namespace_mappings);
  if (wanted.translation) {
    auto translation = translation_filter::create(
        types, names, search_attribute_translator::create(connection.search_attribute_mappings),
        connection.repair_utf8);
    if (!translation)
      return failure::failure(problem_of(connection, arrived_on, translation.error()));
    std::shared_ptr<const message_filter> translator = std::move(*translation);
    built->request_filters_.push_back(translator);
    built->response_filters_.push_back(translator);
  }
  if (wanted.acl) {
    auto problem = built->add_acl(*connection.acl, std::move(names));
    if (!problem.empty())
      return failure::failure(problem_of(connection, arrived_on, problem));
  }
  if (wanted.replication_endpoint) {
    auto endpoint = replication_endpoint_override::create(*types, connection.replication_endpoint);
    if (!endpoint)
      return failure::failure(problem_of(connection, arrived_on, endpoint.error()));
    built->request_filters_.push_back(std::move(*endpoint));
  }

  // The history_shard_count this side reports in DescribeCluster. In lcm mode the least common multiple of the
  // counts, which validation keeps within int32. In routing mode the asking cluster's own count, so that it opens one
  // stream per shard of its own, to the shard of the same number (docs/shard-counts.md): the local cluster asks on
  // the outbound side, the remote one on the inbound side.
  std::optional<std::int32_t> shard_count;
  if (wanted.shard_count) {
    // Streams are opened by the receiving cluster: the local one when they arrive on the outbound side.
    bool local_is_client = arrived_on == side::outbound;
    const auto& map = built->stream_shards_.emplace(
        local_is_client ? connection.shards.local_shard_count : connection.shards.remote_shard_count,
        local_is_client ? connection.shards.remote_shard_count : connection.shards.local_shard_count);
    shard_count = map.presented_count();
  }
  if (wanted.routing) {
    shard_count =
        arrived_on == side::outbound ? connection.shards.local_shard_count : connection.shards.remote_shard_count;
    auto fields = replication_fields_of(*types);
    if (!fields)
      return failure::failure(problem_of(connection, arrived_on, "shardCount routing: " + fields.error()));
    built->replication_codec_ = std::make_shared<const translation::replication_codec>(std::move(*fields));
  }
  if (wanted.failover_version_increment || shard_count) {
    auto describe = describe_cluster_override::create(*types, wanted.failover_version_increment, shard_count);
    if (!describe)
      return failure::failure(problem_of(connection, arrived_on, describe.error()));
    built->response_filters_.push_back(std::move(*describe));
  }
  return std::shared_ptr<const pipeline>(std::move(built));
}

result<std::shared_ptr<const pipeline>> pipeline::build_method_checks(const config::cluster_connection& connection,
                                                                      side arrived_on) {
  using failure = result<std::shared_ptr<const pipeline>>;
  static const std::shared_ptr<const schema> no_types = *schema::from_descriptor_set("");
  std::shared_ptr<pipeline> built(new pipeline(arrived_on, no_types));
  if (filters_of(connection, arrived_on).acl) {
    auto problem = built->add_acl(*connection.acl, namespace_translator::create(connection.namespace_mappings));
    if (!problem.empty())
      return failure::failure(problem_of(connection, arrived_on, problem));
  }
  return std::shared_ptr<const pipeline>(std::move(built));
}

bool pipeline::needs_schema(const config::cluster_connection& connection, side arrived_on) {
  auto wanted = filters_of(connection, arrived_on);
  return wanted.renames || wanted.acl_namespaces || wanted.replication_endpoint || wanted.failover_version_increment ||
         wanted.shard_count || wanted.routing;
}

std::string pipeline::add_acl(const config::acl_policy& policy, namespace_translator names) {
  auto acl = acl_filter::create(policy, schema_, std::move(names));
  if (!acl)
    return acl.error();
  acl_ = acl->get();
  std::shared_ptr<const message_filter> shared_acl = std::move(*acl);
  request_filters_.push_back(shared_acl);
  // Responses meet it before their translation: it filters lists by local names.
  response_filters_.insert(response_filters_.begin(), std::move(shared_acl));
  return {};
}

call_translation pipeline::start_call(std::string_view method) const {
  return call_translation(shared_from_this(), method);
}

filter_result pipeline::run(const filter_list& filters, const message_context& context, std::string& bytes) const {
  filter_result done;
  run_each(filters, done, [&](const message_filter& filter) { return filter.apply(context, bytes); });
  return done;
}

filter_result pipeline::run_headers(const message_context& context, header_list& headers) const {
  filter_result done;
  for (auto& [key, value] : headers) {
    if (!is_namespace_header(key))
      continue;
    bool passed = run_each(request_filters_, done, [&, &key = key, &value = value](const message_filter& filter) {
      return filter.apply_header(context, key, value);
    });
    if (!passed)
      break;
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
    if (filter->wants(context))
      return true;
  }
  return false;
}

call_translation::call_translation(std::shared_ptr<const pipeline> owner, std::string_view method)
    : pipeline_(std::move(owner)), method_(method), types_(pipeline_->schema_->find_method(method)) {
  if (pipeline_->acl_ != nullptr)
    refusal_ = pipeline_->acl_->check_method(method);
  wants_requests_ = refusal_.has_value() || pipeline::any_wants(pipeline_->request_filters_, context_of(true));
  wants_responses_ = refusal_.has_value() || pipeline::any_wants(pipeline_->response_filters_, context_of(false));
  for (const auto& filter : pipeline_->request_filters_)
    wants_headers_ = wants_headers_ || filter->wants_headers();
  for (const auto& filter : pipeline_->response_filters_)
    wants_status_ = wants_status_ || filter->wants_status();
  maps_stream_shards_ = pipeline_->stream_shards_.has_value() && method == shards::replication_stream_method;
  wants_headers_ = wants_headers_ || maps_stream_shards_;
}

bool call_translation::wants_headers(const header_list& headers) const {
  if (maps_stream_shards_)
    return true;
  if (!wants_headers_)
    return false;
  for (const auto& entry : headers)
    if (is_namespace_header(entry.first))
      return true;
  return false;
}

filter_result call_translation::on_request_headers(header_list& headers) {
  if (refusal_)
    return filter_result::refused(refusal_->code, refusal_->message);
  filter_result done = pipeline_->run_headers(context_of(true), headers);
  if (done.is_refused() || !maps_stream_shards_)
    return done;
  auto mapped = shards::map_stream_headers(headers, *pipeline_->stream_shards_);
  if (!mapped.problem.empty()) {
    return filter_result::refused(status_code::failed_precondition, "s2s-proxy: " + mapped.problem);
  }
  if (mapped.changed)
    done.what = filter_result::outcome::changed;
  mapped_stream_ = shards::lcm_stream{mapped.named, mapped.mapped};
  return done;
}

std::optional<shards::stream_shard_ids> call_translation::mapped_real_shards() const {
  if (!mapped_stream_)
    return std::nullopt;
  const auto& map = *pipeline_->stream_shards_;
  std::int32_t virtual_shard = mapped_stream_->mapped.client;
  return shards::stream_shard_ids{(virtual_shard - 1) % map.client_count() + 1, mapped_stream_->mapped.server};
}

filter_result call_translation::on_status(std::string& message, std::string& details) {
  return pipeline_->run_status(context_of(false), message, details);
}

filter_result call_translation::on_message(std::string& bytes, bool is_request) {
  if (refusal_)
    return filter_result::refused(refusal_->code, refusal_->message);
  return pipeline_->run(is_request ? pipeline_->request_filters_ : pipeline_->response_filters_, context_of(is_request),
                        bytes);
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
