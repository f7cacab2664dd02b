// Tests of a side's pipeline mapping replication streams' shard ids under shardCount.mode lcm.
#include <gtest/gtest.h>

#include "shards/stream_headers.hpp"
#include "temporal_messages.hpp"
#include "translation/pipeline.hpp"

namespace s2s::translation::testing {
namespace {

constexpr std::string_view stream_method = shards::replication_stream_method;

config::cluster_connection connection_with(config::shard_count shards) {
  config::cluster_connection connection;
  connection.name = "a-to-b";
  connection.shards = shards;
  return connection;
}

std::shared_ptr<const pipeline> built(const config::cluster_connection& connection, side arrived_on) {
  auto made = pipeline::build(connection, arrived_on, temporal_schema());
  EXPECT_TRUE(made) << made.error();
  return *made;
}

header_list stream_metadata(std::string client_shard, std::string server_shard) {
  return {{"temporal-client-cluster-id", "1"},
          {"temporal-client-shard-id", std::move(client_shard)},
          {"temporal-server-cluster-id", "2"},
          {"temporal-server-shard-id", std::move(server_shard)}};
}

// Runs a stream's metadata through one side; expects no refusal.
header_list through(const pipeline& side_pipeline, header_list headers) {
  auto call = side_pipeline.start_call(stream_method);
  EXPECT_TRUE(call.wants_headers(headers));
  auto result = call.on_request_headers(headers);
  EXPECT_FALSE(result.is_refused()) << result.refusal.message;
  return headers;
}

// Cluster A has 2 shards, cluster B 3; proxy A's config says so, proxy B's the other way round.
const config::shard_count proxy_a_shards{config::shard_count_mode::lcm, 2, 3};
const config::shard_count proxy_b_shards{config::shard_count_mode::lcm, 3, 2};

TEST(StreamShards, OutboundMapsTheStreamsTheLocalClusterOpens) {
  auto outbound = built(connection_with(proxy_a_shards), side::outbound);
  // A's shard 1 believes B has 6 shards and opens to virtual shard 5: real B shard 2.
  EXPECT_EQ(through(*outbound, stream_metadata("1", "5")), stream_metadata("5", "2"));
}

TEST(StreamShards, InboundMapsTheStreamsTheRemoteClusterOpens) {
  auto inbound = built(connection_with(proxy_a_shards), side::inbound);
  // B's shard 1 opens to A's virtual shard 4: real A shard 2.
  EXPECT_EQ(through(*inbound, stream_metadata("1", "4")), stream_metadata("4", "2"));
}

TEST(StreamShards, TwoProxiesWithLcmMapAStreamOnce) {
  auto a_outbound = built(connection_with(proxy_a_shards), side::outbound);
  auto b_inbound = built(connection_with(proxy_b_shards), side::inbound);
  auto b_outbound = built(connection_with(proxy_b_shards), side::outbound);
  auto a_inbound = built(connection_with(proxy_a_shards), side::inbound);
  for (int client = 1; client <= 2; ++client)
    for (int v = client; v <= 6; v += 2) {
      auto once = through(*a_outbound, stream_metadata(std::to_string(client), std::to_string(v)));
      EXPECT_EQ(through(*b_inbound, once), once);
      EXPECT_EQ(once, stream_metadata(std::to_string(v), std::to_string((v - 1) % 3 + 1)));
    }
  for (int client = 1; client <= 3; ++client)
    for (int v = client; v <= 6; v += 3) {
      auto once = through(*b_outbound, stream_metadata(std::to_string(client), std::to_string(v)));
      EXPECT_EQ(through(*a_inbound, once), once);
      EXPECT_EQ(once, stream_metadata(std::to_string(v), std::to_string((v - 1) % 2 + 1)));
    }
}

TEST(StreamShards, AStreamTheCountsCannotExplainIsRefusedBeforeTheServer) {
  auto outbound = built(connection_with(proxy_a_shards), side::outbound);
  auto call = outbound->start_call(stream_method);
  auto headers = stream_metadata("3", "1");  // A has no shard 3
  auto result = call.on_request_headers(headers);
  ASSERT_TRUE(result.is_refused());
  EXPECT_EQ(result.refusal.code, status_code::failed_precondition);
  EXPECT_EQ(result.refusal.message.rfind("s2s-proxy: replication stream names client shard 3", 0), 0u)
      << result.refusal.message;
}

TEST(StreamShards, OtherCallsAndOtherModesLeaveHeadersAlone) {
  auto outbound = built(connection_with(proxy_a_shards), side::outbound);
  auto headers = stream_metadata("1", "5");
  auto describe = outbound->start_call("/temporal.server.api.adminservice.v1.AdminService/DescribeCluster");
  EXPECT_FALSE(describe.wants_headers(headers));
  auto plain = built(connection_with({}), side::outbound);
  EXPECT_FALSE(plain->stream_shards());
  EXPECT_FALSE(plain->start_call(stream_method).wants_headers(headers));
}

}  // namespace
}  // namespace s2s::translation::testing
