// Tests of mapping the shard ids in a replication stream's request metadata.
#include "shards/stream_headers.hpp"

#include <gtest/gtest.h>

namespace s2s::shards {
namespace {

header_list stream_metadata(std::string client_shard, std::string server_shard) {
  return {{"temporal-client-cluster-id", "1"},
          {"temporal-client-shard-id", std::move(client_shard)},
          {"temporal-server-cluster-id", "2"},
          {"temporal-server-shard-id", std::move(server_shard)},
          {"xdc-redirection", "true"}};
}

TEST(StreamHeaders, ShardIdsAreRewrittenAndEverythingElseStays) {
  auto headers = stream_metadata("1", "5");
  auto mapped = map_stream_headers(headers, lcm_shard_map(2, 3));
  ASSERT_TRUE(mapped.problem.empty()) << mapped.problem;
  EXPECT_TRUE(mapped.changed);
  EXPECT_EQ(mapped.named, (stream_shard_ids{1, 5}));
  EXPECT_EQ(mapped.mapped, (stream_shard_ids{5, 2}));
  EXPECT_EQ(headers, stream_metadata("5", "2"));
}

TEST(StreamHeaders, MappedIdsPassUnchanged) {
  auto headers = stream_metadata("5", "2");
  auto mapped = map_stream_headers(headers, lcm_shard_map(2, 3));
  EXPECT_TRUE(mapped.problem.empty()) << mapped.problem;
  EXPECT_FALSE(mapped.changed);
  EXPECT_EQ(headers, stream_metadata("5", "2"));
}

TEST(StreamHeaders, AMissingShardIdIsAProblemNamingTheEntry) {
  header_list headers = {{"temporal-client-shard-id", "1"}};
  auto mapped = map_stream_headers(headers, lcm_shard_map(2, 3));
  EXPECT_NE(mapped.problem.find("temporal-server-shard-id"), std::string::npos) << mapped.problem;
  EXPECT_EQ(headers, (header_list{{"temporal-client-shard-id", "1"}}));
}

TEST(StreamHeaders, AShardIdThatIsNoNumberIsAProblem) {
  for (std::string bad : {"", "x", "1x", "-1", "0", "99999999999"}) {
    auto headers = stream_metadata(bad, "1");
    auto mapped = map_stream_headers(headers, lcm_shard_map(2, 3));
    EXPECT_NE(mapped.problem.find("is not a shard id"), std::string::npos) << bad << ": " << mapped.problem;
    EXPECT_EQ(headers, stream_metadata(bad, "1"));
  }
}

TEST(StreamHeaders, IdsOutsideTheCountsAreAProblemAndLeftAlone) {
  auto headers = stream_metadata("3", "1");
  auto mapped = map_stream_headers(headers, lcm_shard_map(2, 3));
  EXPECT_FALSE(mapped.problem.empty());
  EXPECT_EQ(headers, stream_metadata("3", "1"));
}

}  // namespace
}  // namespace s2s::shards
