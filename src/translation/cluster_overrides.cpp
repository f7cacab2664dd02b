// Cluster-level overrides (DESIGN.md §4): DescribeCluster facts and the address in AddOrUpdateRemoteCluster.
#include "translation/cluster_overrides.hpp"

#include "translation/wire.hpp"

namespace s2s::translation {
namespace {

namespace pb = google::protobuf;

constexpr std::string_view describe_cluster_response = "temporal.server.api.adminservice.v1.DescribeClusterResponse";
constexpr std::string_view add_remote_cluster_request =
    "temporal.server.api.adminservice.v1.AddOrUpdateRemoteClusterRequest";

// The number of `field` in `type`, checked to have the expected wire shape.
result<std::uint32_t> field_number(const pb::Descriptor* type, std::string_view field, pb::FieldDescriptor::Type kind) {
  const pb::FieldDescriptor* found = type->FindFieldByName(std::string(field));
  if (found == nullptr || found->type() != kind || found->is_repeated()) {
    return result<std::uint32_t>::failure("the schema's " + type->full_name() + " has no singular field " +
                                          std::string(field) + " of the expected type");
  }
  return static_cast<std::uint32_t>(found->number());
}

std::string encode_varint_field(std::uint32_t number, std::int64_t value) {
  std::string out;
  wire::append_tag(out, number, wire::wire_type::varint);
  wire::append_varint(out, static_cast<std::uint64_t>(value));
  return out;
}

filter_result set_field(const message_context& context, std::string& bytes, std::uint32_t number,
                        const std::string& encoded) {
  bool changed = false;
  std::string error;
  if (!wire::set_top_level_field(bytes, number, encoded, changed, error)) {
    return filter_result::refused(status_code::invalid_argument,
                                  "cannot override a field of " + context.type->full_name() + " (" +
                                      std::string(context.method) + "): malformed " + error);
  }
  return changed ? filter_result::changed() : filter_result::unchanged();
}

filter_result merge(filter_result first, filter_result second) {
  if (first.is_refused())
    return first;
  if (second.is_refused() || second.is_changed())
    return second;
  return first;
}

}  // namespace

result<std::unique_ptr<describe_cluster_override>> describe_cluster_override::create(
    const schema& types, std::optional<std::int64_t> failover_version_increment,
    std::optional<std::int32_t> history_shard_count) {
  using failure = result<std::unique_ptr<describe_cluster_override>>;
  std::unique_ptr<describe_cluster_override> filter(new describe_cluster_override());
  filter->response_ = types.find_message(describe_cluster_response);
  if (filter->response_ == nullptr) {
    return failure::failure("the schema has no " + std::string(describe_cluster_response));
  }
  if (failover_version_increment) {
    auto number = field_number(filter->response_, "failover_version_increment", pb::FieldDescriptor::TYPE_INT64);
    if (!number)
      return failure::failure(number.error());
    filter->failover_version_increment_number_ = *number;
    filter->failover_version_increment_ = encode_varint_field(*number, *failover_version_increment);
  }
  if (history_shard_count) {
    auto number = field_number(filter->response_, "history_shard_count", pb::FieldDescriptor::TYPE_INT32);
    if (!number)
      return failure::failure(number.error());
    filter->history_shard_count_number_ = *number;
    filter->history_shard_count_ = encode_varint_field(*number, *history_shard_count);
  }
  return filter;
}

filter_result describe_cluster_override::apply(const message_context& context, std::string& bytes) const {
  if (context.is_request || context.type != response_)
    return filter_result::unchanged();
  filter_result done = filter_result::unchanged();
  if (!failover_version_increment_.empty()) {
    done = merge(done, set_field(context, bytes, failover_version_increment_number_, failover_version_increment_));
  }
  if (!history_shard_count_.empty() && !done.is_refused()) {
    done = merge(done, set_field(context, bytes, history_shard_count_number_, history_shard_count_));
  }
  return done;
}

result<std::unique_ptr<replication_endpoint_override>> replication_endpoint_override::create(
    const schema& types, const std::string& replication_endpoint) {
  using failure = result<std::unique_ptr<replication_endpoint_override>>;
  std::unique_ptr<replication_endpoint_override> filter(new replication_endpoint_override());
  filter->request_ = types.find_message(add_remote_cluster_request);
  if (filter->request_ == nullptr)
    return failure::failure("the schema has no " + std::string(add_remote_cluster_request));
  auto number = field_number(filter->request_, "frontend_address", pb::FieldDescriptor::TYPE_STRING);
  if (!number)
    return failure::failure(number.error());
  filter->frontend_address_number_ = *number;
  wire::append_tag(filter->frontend_address_, *number, wire::wire_type::length_delimited);
  wire::append_varint(filter->frontend_address_, replication_endpoint.size());
  filter->frontend_address_ += replication_endpoint;
  return filter;
}

filter_result replication_endpoint_override::apply(const message_context& context, std::string& bytes) const {
  if (!context.is_request || context.type != request_)
    return filter_result::unchanged();
  return set_field(context, bytes, frontend_address_number_, frontend_address_);
}

}  // namespace s2s::translation
