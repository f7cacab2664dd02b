// DescribeCluster reports the configured failover version increment and shard count; AddOrUpdateRemoteCluster
// arriving on the inbound side points the cluster at the proxy's replicationEndpoint.
#include <gtest/gtest.h>

#include "temporal_messages.hpp"

namespace s2s::translation::testing {
namespace {

constexpr std::string_view describe_cluster = "/temporal.server.api.adminservice.v1.AdminService/DescribeCluster";
constexpr std::string_view add_remote_cluster =
    "/temporal.server.api.adminservice.v1.AdminService/AddOrUpdateRemoteCluster";

std::unique_ptr<pb::Message> cluster_description(std::int64_t failover_version_increment, std::int32_t shards) {
  auto m = make("temporal.server.api.adminservice.v1.DescribeClusterResponse");
  put_string(*m, "supported_clients", "temporal-go", ">=1.0.0");
  set(*m, "server_version", "1.32.1");
  set(*m, "cluster_id", "c0ffee");
  set(*m, "cluster_name", "cluster-a");
  set_int(*m, "history_shard_count", shards);
  set_int(*m, "failover_version_increment", failover_version_increment);
  set_int(*m, "initial_failover_version", 1);
  set_int(*m, "is_global_namespace_enabled", 1);
  return m;
}

std::string describe_on(const config::cluster_connection& connection, side arrived_on, std::string bytes) {
  auto built = pipeline::build(connection, arrived_on, temporal_schema());
  if (!built)
    throw std::runtime_error(built.error());
  filter_result result = (*built)->start_call(describe_cluster).on_response(bytes);
  EXPECT_FALSE(result.is_refused()) << result.refusal.message;
  return bytes;
}

TEST(ClusterOverrides, DescribeClusterReportsTheConfiguredFailoverVersionIncrementPerSide) {
  config::cluster_connection connection = test_connection();
  connection.failover_version_increment_translation = config::failover_version_increment{100, 1000000};
  std::string original = bytes_of(*cluster_description(10, 4));
  EXPECT_EQ(describe_on(connection, side::inbound, original), bytes_of(*cluster_description(100, 4)));
  EXPECT_EQ(describe_on(connection, side::outbound, original), bytes_of(*cluster_description(1000000, 4)));
}

TEST(ClusterOverrides, AnAbsentFailoverVersionIncrementIsAdded) {
  config::cluster_connection connection = test_connection();
  connection.failover_version_increment_translation = config::failover_version_increment{100, 1000000};
  std::string bytes = describe_on(connection, side::inbound, bytes_of(*cluster_description(0, 4)));
  auto parsed = make("temporal.server.api.adminservice.v1.DescribeClusterResponse");
  ASSERT_TRUE(parsed->ParseFromString(bytes));
  EXPECT_EQ(bytes_of(*parsed), bytes_of(*cluster_description(100, 4)));
}

TEST(ClusterOverrides, LcmShardCountModeReportsTheLeastCommonMultipleOnBothSides) {
  config::cluster_connection connection = test_connection();
  connection.shards = {config::shard_count_mode::lcm, 4, 6};
  std::string original = bytes_of(*cluster_description(10, 4));
  EXPECT_EQ(describe_on(connection, side::inbound, original), bytes_of(*cluster_description(10, 12)));
  EXPECT_EQ(describe_on(connection, side::outbound, original), bytes_of(*cluster_description(10, 12)));
}

TEST(ClusterOverrides, WithoutOverridesDescribeClusterIsUntouched) {
  std::string original = bytes_of(*cluster_description(10, 4));
  EXPECT_EQ(describe_on(test_connection(), side::inbound, original), original);
}

std::unique_ptr<pb::Message> add_cluster(std::string_view address) {
  auto m = make("temporal.server.api.adminservice.v1.AddOrUpdateRemoteClusterRequest");
  set(*m, "frontend_address", address);
  set_int(*m, "enable_remote_cluster_connection", 1);
  set_int(*m, "enable_replication", 1);
  return m;
}

TEST(ClusterOverrides, AddOrUpdateRemoteClusterOnTheInboundSidePointsAtTheReplicationEndpoint) {
  config::cluster_connection connection = test_connection();
  connection.replication_endpoint = "proxy-a.internal:6233";
  std::string original = bytes_of(*add_cluster("cluster-b.frontend:7233"));
  for (side arrived_on : {side::inbound, side::outbound}) {
    auto built = pipeline::build(connection, arrived_on, temporal_schema());
    ASSERT_TRUE(built) << built.error();
    std::string bytes = original;
    filter_result result = (*built)->start_call(add_remote_cluster).on_request(bytes);
    ASSERT_FALSE(result.is_refused()) << result.refusal.message;
    if (arrived_on == side::inbound) {
      EXPECT_TRUE(result.is_changed());
      EXPECT_EQ(bytes, bytes_of(*add_cluster("proxy-a.internal:6233")));
    } else {
      EXPECT_EQ(bytes, original);
    }
  }
}

}  // namespace
}  // namespace s2s::translation::testing
