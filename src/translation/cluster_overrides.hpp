// Cluster-level overrides (DESIGN.md §4): DescribeCluster facts and the address in AddOrUpdateRemoteCluster.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "translation/filter.hpp"
#include "translation/schema.hpp"

namespace s2s::translation {

// Replaces failover_version_increment and/or history_shard_count in DescribeCluster responses.
class describe_cluster_override : public message_filter {
 public:
  static result<std::unique_ptr<describe_cluster_override>> create(
      const schema& types, std::optional<std::int64_t> failover_version_increment,
      std::optional<std::int32_t> history_shard_count);

  std::string_view name() const override { return "describe_cluster_override"; }
  filter_result apply(const message_context& context, std::string& bytes) const override;
  bool wants(const message_context& context) const override { return !context.is_request && context.type == response_; }

 private:
  describe_cluster_override() = default;

  const google::protobuf::Descriptor* response_ = nullptr;
  std::string failover_version_increment_;  // the encoded field (tag and value); empty = keep
  std::string history_shard_count_;
  std::uint32_t failover_version_increment_number_ = 0;
  std::uint32_t history_shard_count_number_ = 0;
};

// Replaces frontend_address in AddOrUpdateRemoteCluster requests with the proxy's replicationEndpoint,
// so the cluster being added replicates back through the proxy.
class replication_endpoint_override : public message_filter {
 public:
  static result<std::unique_ptr<replication_endpoint_override>> create(const schema& types,
                                                                       const std::string& replication_endpoint);

  std::string_view name() const override { return "replication_endpoint_override"; }
  filter_result apply(const message_context& context, std::string& bytes) const override;
  bool wants(const message_context& context) const override { return context.is_request && context.type == request_; }

 private:
  replication_endpoint_override() = default;

  const google::protobuf::Descriptor* request_ = nullptr;
  std::uint32_t frontend_address_number_ = 0;
  std::string frontend_address_;  // the encoded field
};

}  // namespace s2s::translation
