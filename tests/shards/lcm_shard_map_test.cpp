// Tests of the lcm mapping of replication streams' shard ids, by Temporal's rules for which streams a cluster opens.
#include "shards/lcm_shard_map.hpp"

#include <gtest/gtest.h>

#include "temporal_rules.hpp"

#include <algorithm>
#include <numeric>
#include <set>
#include <utility>
#include <vector>

namespace s2s::shards {
namespace {

using testing::opened_by;
using testing::streams_opened;

const std::vector<std::pair<std::int32_t, std::int32_t>> count_pairs = {{2, 3}, {3, 2}, {4, 3}, {3, 4}, {3, 5},
                                                                        {2, 4}, {4, 2}, {4, 4}, {1, 7}, {6, 4}};

TEST(LcmShardMap, PresentsTheLeastCommonMultiple) {
  EXPECT_EQ(lcm_shard_map(2, 3).presented_count(), 6);
  EXPECT_EQ(lcm_shard_map(4, 3).presented_count(), 12);
  EXPECT_EQ(lcm_shard_map(4, 6).presented_count(), 12);
  EXPECT_EQ(lcm_shard_map(4, 4).presented_count(), 4);
  EXPECT_EQ(shard_count_lcm(2147483647, 2), std::nullopt);
  EXPECT_EQ(shard_count_lcm(0, 2), std::nullopt);
  EXPECT_EQ(shard_count_lcm(512, 1024), 1024);
}

TEST(LcmShardMap, EachPairOfRealShardsSharingWorkflowsGetsExactlyOneStream) {
  for (auto [clients, servers] : count_pairs) {
    lcm_shard_map map(clients, servers);
    std::set<std::pair<std::int32_t, std::int32_t>> pairs;
    auto streams = streams_opened(map);
    EXPECT_EQ(streams.size(), static_cast<std::size_t>(map.presented_count()));
    for (auto opened : streams) {
      auto mapped = map.map(opened);
      ASSERT_TRUE(mapped.problem.empty()) << mapped.problem;
      ASSERT_GE(mapped.ids.server, 1);
      ASSERT_LE(mapped.ids.server, servers);
      EXPECT_EQ(mapped.ids.client, opened.server) << "the server sees the virtual shard as the client's";
      pairs.insert({opened.client, mapped.ids.server});
    }
    // The pairs that can hold a common workflow: shards equal modulo the greatest common divisor (a hash modulo
    // C and modulo S agree modulo it), all of them when the counts are coprime.
    std::int32_t divisor = std::gcd(clients, servers);
    for (std::int32_t c = 1; c <= clients; ++c)
      for (std::int32_t s = 1; s <= servers; ++s)
        EXPECT_EQ(pairs.count({c, s}), (c - 1) % divisor == (s - 1) % divisor ? 1u : 0u)
            << clients << " to " << servers << ": pair " << c << ", " << s;
  }
}

// The server accepts a stream only when client % min == server % min, with the counts it believes: L for the
// client, its own for itself (Temporal's VerifyShardIDMapping); and it expects, for each of its shards, a stream
// from each client shard of MapShardID(S, L, server).
TEST(LcmShardMap, MappedStreamsAreTheOnesTheServerExpects) {
  for (auto [clients, servers] : count_pairs) {
    lcm_shard_map map(clients, servers);
    std::set<std::pair<std::int32_t, std::int32_t>> expected, got;
    for (std::int32_t s = 1; s <= servers; ++s)
      for (std::int32_t v : opened_by(s, servers, map.presented_count()))
        expected.insert({v, s});
    for (auto opened : streams_opened(map)) {
      auto mapped = map.map(opened);
      std::int32_t smaller = std::min(map.presented_count(), servers);
      EXPECT_EQ(mapped.ids.client % smaller, mapped.ids.server % smaller);
      got.insert({mapped.ids.client, mapped.ids.server});
    }
    EXPECT_EQ(got, expected) << clients << " to " << servers;
  }
}

TEST(LcmShardMap, MappingTwiceIsMappingOnce) {
  for (auto [clients, servers] : count_pairs) {
    lcm_shard_map map(clients, servers);
    for (auto opened : streams_opened(map)) {
      auto once = map.map(opened);
      auto twice = map.map(once.ids);
      EXPECT_TRUE(twice.problem.empty()) << twice.problem;
      EXPECT_FALSE(twice.changed);
      EXPECT_EQ(twice.ids, once.ids);
    }
  }
}

TEST(LcmShardMap, TwoToThreeMapsAsTheDesignPageSays) {
  lcm_shard_map map(2, 3);
  auto mapped = map.map({1, 5});  // client shard 1 opened to virtual shard 5 = real pair (1, 2)
  EXPECT_TRUE(mapped.changed);
  EXPECT_EQ(mapped.ids, (stream_shard_ids{5, 2}));
  EXPECT_EQ(map.map({2, 4}).ids, (stream_shard_ids{4, 1}));
  EXPECT_FALSE(map.map({1, 1}).changed);  // the pair (1, 1): the same ids in both forms
}

TEST(LcmShardMap, StreamsListsWhatEachClientShardOpensAndWhereItLands) {
  lcm_shard_map map(2, 3);
  auto streams = map.streams();
  ASSERT_EQ(streams.size(), 6u);
  auto opened = streams_opened(map);
  for (const auto& stream : streams) {
    EXPECT_NE(std::find(opened.begin(), opened.end(), stream.opened), opened.end());
    EXPECT_EQ(stream.mapped, map.map(stream.opened).ids);
  }
  EXPECT_EQ(streams[4].opened, (stream_shard_ids{1, 5}));
  EXPECT_EQ(streams[4].mapped, (stream_shard_ids{5, 2}));
}

TEST(LcmShardMap, EqualCountsChangeNothing) {
  lcm_shard_map map(4, 4);
  for (std::int32_t shard = 1; shard <= 4; ++shard) {
    auto mapped = map.map({shard, shard});
    EXPECT_FALSE(mapped.changed);
    EXPECT_TRUE(mapped.problem.empty());
  }
}

TEST(LcmShardMap, IdsTheCountsDoNotHaveAreAProblemNamingThem) {
  lcm_shard_map map(2, 3);
  for (stream_shard_ids wrong : {stream_shard_ids{3, 1}, stream_shard_ids{1, 7}, stream_shard_ids{1, 2},
                                 stream_shard_ids{0, 1}, stream_shard_ids{7, 1}}) {
    auto mapped = map.map(wrong);
    EXPECT_FALSE(mapped.problem.empty()) << wrong.client << "," << wrong.server;
    EXPECT_NE(mapped.problem.find("client shard " + std::to_string(wrong.client) + " and server shard " +
                                  std::to_string(wrong.server)),
              std::string::npos)
        << mapped.problem;
    EXPECT_NE(mapped.problem.find("shardCount.localShardCount"), std::string::npos) << mapped.problem;
  }
}

}  // namespace
}  // namespace s2s::shards
