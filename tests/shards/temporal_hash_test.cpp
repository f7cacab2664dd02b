// The shard core checked against Temporal's own workflow-to-shard function: our workflow_shard places every workflow
// where Temporal does (routing), and each workflow travels on exactly one lcm stream, from the server shard that
// holds it to the client shard that owns it.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "shards/lcm_shard_map.hpp"
#include "shards/replication_router.hpp"
#include "shards/workflow_shard.hpp"
#include "temporal_rules.hpp"

namespace s2s::shards {
namespace {

// Written by tests/e2e/cmd/shardhash: per workflow, its shard for each count, by go.temporal.io/server/common.
struct placements {
  std::string namespace_id;
  std::vector<std::int32_t> counts;
  std::vector<std::pair<std::string, std::map<std::int32_t, std::int32_t>>> workflows;  // id, count -> shard
};

placements read_placements() {
  placements read;
  std::ifstream in(S2S_TEMPORAL_WORKFLOW_SHARDS);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    if (line.rfind("# namespace", 0) == 0) {
      std::string hash, word;
      fields >> hash >> word >> read.namespace_id;
      continue;
    }
    if (line.rfind("# counts", 0) == 0) {
      std::string hash, word;
      fields >> hash >> word;
      for (std::int32_t count; fields >> count;)
        read.counts.push_back(count);
      continue;
    }
    if (line.empty() || line[0] == '#')
      continue;
    std::string id;
    fields >> id;
    std::map<std::int32_t, std::int32_t> shard_of;
    for (std::int32_t count : read.counts)
      fields >> shard_of[count];
    read.workflows.emplace_back(id, std::move(shard_of));
  }
  return read;
}

const std::vector<std::pair<std::int32_t, std::int32_t>> count_pairs = {{2, 3}, {3, 2}, {4, 3}, {3, 4}, {3, 5},
                                                                        {5, 3}, {2, 4}, {4, 2}, {1, 5}, {2, 6}};

TEST(TemporalHash, EachWorkflowTravelsOnOneStreamFromItsShardToItsOwner) {
  auto read = read_placements();
  ASSERT_GE(read.workflows.size(), 100u) << "no placements in " << S2S_TEMPORAL_WORKFLOW_SHARDS;
  for (auto [clients, servers] : count_pairs) {
    lcm_shard_map map(clients, servers);
    std::int32_t lcm = map.presented_count();
    ASSERT_TRUE(read.workflows.front().second.count(lcm)) << "the tool placed no workflows for " << lcm << " shards";
    std::vector<std::pair<stream_shard_ids, stream_shard_ids>> streams;  // as opened, as mapped
    for (auto opened : testing::streams_opened(map))
      streams.emplace_back(opened, map.map(opened).ids);
    std::set<std::pair<std::int32_t, std::int32_t>> pairs_seen;
    std::set<std::int32_t> virtual_seen;
    for (const auto& [id, shard_of] : read.workflows) {
      std::int32_t owner = shard_of.at(clients);   // the client shard that must receive it
      std::int32_t holder = shard_of.at(servers);  // the server shard it lives on
      std::int32_t filtered = shard_of.at(lcm);    // the client shard the server's sender picks it for
      // The server sends it on the stream from `holder` whose client shard is `filtered`: find who opened that.
      int carriers = 0;
      for (const auto& [opened, mapped] : streams) {
        if (mapped.server != holder || mapped.client != filtered)
          continue;
        ++carriers;
        EXPECT_EQ(opened.client, owner) << id << ": " << clients << " to " << servers << " shards";
      }
      EXPECT_EQ(carriers, 1) << id << ": " << clients << " to " << servers << " shards";
      pairs_seen.insert({owner, holder});
      virtual_seen.insert(filtered);
    }
    // The workflows reach every pair of real shards that can share one (L of them), so every stream was checked
    // with traffic on it.
    EXPECT_EQ(pairs_seen.size(), static_cast<std::size_t>(lcm)) << clients << " to " << servers;
    EXPECT_EQ(virtual_seen.size(), static_cast<std::size_t>(lcm));
  }
}

TEST(TemporalHash, WorkflowShardPlacesEveryWorkflowWhereTemporalDoesReachingEveryShard) {
  auto read = read_placements();
  ASSERT_GE(read.workflows.size(), 100u) << "no placements in " << S2S_TEMPORAL_WORKFLOW_SHARDS;
  ASSERT_FALSE(read.namespace_id.empty());
  for (std::int32_t count : read.counts) {
    std::set<std::int32_t> reached;
    for (const auto& [id, shard_of] : read.workflows) {
      EXPECT_EQ(workflow_shard(read.namespace_id, id, count), shard_of.at(count)) << id << " with " << count;
      reached.insert(shard_of.at(count));
    }
    EXPECT_EQ(reached.size(), static_cast<std::size_t>(count)) << "the workflows reach every one of " << count;
  }
}

TEST(TemporalHash, RoutingSendsEachTaskToTheTargetShardTemporalWouldKeepItOn) {
  auto read = read_placements();
  ASSERT_GE(read.workflows.size(), 100u);
  for (auto [sources, targets] : count_pairs) {
    replication_router router(sources, targets, nullptr);
    std::map<std::int32_t, std::int64_t> next_id;  // per source
    for (const auto& [id, shard_of] : read.workflows) {
      std::int32_t source = shard_of.at(sources);
      std::int64_t task_id = ++next_id[source];
      auto routed = router.route({source, {{read.namespace_id, id, task_id}}, task_id + 1});
      ASSERT_EQ(routed.batches.size(), 1u) << id;
      EXPECT_EQ(routed.batches[0].target, shard_of.at(targets)) << id << ": " << sources << " to " << targets;
    }
  }
}

}  // namespace
}  // namespace s2s::shards
