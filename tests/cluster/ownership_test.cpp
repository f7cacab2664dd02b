// Shard ownership in routing mode: one owner per source shard chosen alike everywhere, minimal moves
// when a member leaves or joins, target shards owned where their streams are, and superseded claims.
#include "cluster/ownership.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

using namespace s2s::cluster;

namespace {

std::vector<shard_claims> members(std::initializer_list<const char*> names) {
  std::vector<shard_claims> live;
  for (const auto* name : names)
    live.push_back({name, {}});
  return live;
}

}  // namespace

TEST(rendezvous_weight, is_fnv1a_of_name_separator_and_little_endian_shard_then_splitmix) {
  // Computed apart from this code, from the description in ownership.cpp: a change of the hash would
  // make instances of two builds disagree on owners during a rolling upgrade.
  EXPECT_EQ(rendezvous_weight("b1", 1), 0x840854a16f562e65ULL);
  EXPECT_EQ(rendezvous_weight("b2", 7), 0xd011820c42b1d234ULL);
  EXPECT_NE(rendezvous_weight("b1", 2), rendezvous_weight("b1", 1));
}

TEST(shard_ownership, every_source_shard_has_one_live_owner_and_the_order_of_members_does_not_matter) {
  auto forward = members({"b1", "b2", "b3"});
  auto backward = members({"b3", "b2", "b1"});
  shard_ownership one(forward, 64, 8), other(backward, 64, 8);
  EXPECT_EQ(one, other);
  std::set<std::string> names{"b1", "b2", "b3"};
  std::size_t total = 0;
  for (std::int32_t shard = 1; shard <= 64; ++shard) {
    auto owner = one.owner(shard_role::source, shard);
    ASSERT_TRUE(owner.has_value()) << shard;
    EXPECT_TRUE(names.count(*owner)) << *owner;
  }
  for (const auto& name : names) {
    auto owned = one.owned_by(name, shard_role::source);
    EXPECT_FALSE(owned.empty()) << name;
    total += owned.size();
  }
  EXPECT_EQ(total, 64u);
}

TEST(shard_ownership, two_members_share_many_shards_about_evenly) {
  shard_ownership view(members({"b1", "b2"}), 1024, 1);
  auto first = view.owned_by("b1", shard_role::source).size();
  EXPECT_GT(first, 1024u * 4 / 10);
  EXPECT_LT(first, 1024u * 6 / 10);
}

TEST(shard_ownership, a_member_that_leaves_moves_only_its_own_source_shards) {
  shard_ownership before(members({"b1", "b2", "b3"}), 128, 4);
  shard_ownership after(members({"b1", "b3"}), 128, 4);
  auto moves = moves_between(before, after);
  ASSERT_EQ(moves.size(), before.owned_by("b2", shard_role::source).size());
  for (const auto& move : moves) {
    EXPECT_EQ(move.role, shard_role::source);
    EXPECT_EQ(move.from, std::optional<std::string>("b2"));
    ASSERT_TRUE(move.to.has_value());
    EXPECT_NE(*move.to, "b2");
  }
}

TEST(shard_ownership, a_member_that_joins_takes_shards_from_others_and_nothing_else_moves) {
  shard_ownership before(members({"b1", "b2"}), 300, 4);
  shard_ownership after(members({"b1", "b2", "b3"}), 300, 4);
  auto moves = moves_between(before, after);
  EXPECT_EQ(moves.size(), after.owned_by("b3", shard_role::source).size());
  EXPECT_GT(moves.size(), 300u / 6);
  EXPECT_LT(moves.size(), 300u / 2);
  for (const auto& move : moves)
    EXPECT_EQ(move.to, std::optional<std::string>("b3"));
}

TEST(shard_ownership, a_member_that_comes_back_with_its_name_gets_the_same_shards) {
  shard_ownership all(members({"b1", "b2"}), 32, 4);
  shard_ownership alone(members({"b1"}), 32, 4);
  shard_ownership again(members({"b2", "b1"}), 32, 4);
  EXPECT_EQ(alone.owned_by("b1", shard_role::source).size(), 32u);
  EXPECT_EQ(all, again);
  EXPECT_TRUE(moves_between(all, again).empty());
}

TEST(shard_ownership, without_live_members_nothing_is_owned) {
  shard_ownership view({}, 4, 4);
  for (std::int32_t shard = 1; shard <= 4; ++shard) {
    EXPECT_FALSE(view.owner(shard_role::source, shard).has_value());
    EXPECT_FALSE(view.owner(shard_role::target, shard).has_value());
  }
}

TEST(shard_ownership, a_target_shard_is_owned_where_its_stream_is_and_unclaimed_ones_by_nobody) {
  std::vector<shard_claims> live{{"b1", {{1, 100}, {3, 100}}}, {"b2", {{2, 100}}}};
  shard_ownership view(live, 4, 4);
  EXPECT_EQ(view.owner(shard_role::target, 1), std::optional<std::string>("b1"));
  EXPECT_EQ(view.owner(shard_role::target, 2), std::optional<std::string>("b2"));
  EXPECT_EQ(view.owner(shard_role::target, 3), std::optional<std::string>("b1"));
  EXPECT_FALSE(view.owner(shard_role::target, 4).has_value());
  EXPECT_EQ(view.owned_by("b1", shard_role::target), (std::vector<std::int32_t>{1, 3}));
  EXPECT_TRUE(view.superseded_claims().empty());
}

TEST(shard_ownership, of_two_claims_on_one_target_shard_the_newest_stream_wins_and_the_other_is_superseded) {
  std::vector<shard_claims> live{{"b1", {{2, 5000}}}, {"b2", {{2, 7000}}}, {"b3", {{2, 6000}}}};
  shard_ownership view(live, 4, 4);
  EXPECT_EQ(view.owner(shard_role::target, 2), std::optional<std::string>("b2"));
  ASSERT_EQ(view.superseded_claims().count(2), 1u);
  EXPECT_EQ(view.superseded_claims().at(2), (std::vector<std::string>{"b1", "b3"}));
}

TEST(shard_ownership, claims_opened_at_the_same_time_go_to_the_larger_name) {
  std::vector<shard_claims> live{{"b2", {{1, 42}}}, {"b10", {{1, 42}}}};
  shard_ownership view(live, 1, 1);
  EXPECT_EQ(view.owner(shard_role::target, 1), std::optional<std::string>("b2"));
}

TEST(shard_ownership, claims_outside_the_target_count_are_ignored_and_owner_outside_is_empty) {
  std::vector<shard_claims> live{{"b1", {{0, 1}, {5, 1}, {-3, 1}}}};
  shard_ownership view(live, 2, 4);
  for (std::int32_t shard = 1; shard <= 4; ++shard)
    EXPECT_FALSE(view.owner(shard_role::target, shard));
  EXPECT_FALSE(view.owner(shard_role::source, 0).has_value());
  EXPECT_FALSE(view.owner(shard_role::source, 3).has_value());
  EXPECT_TRUE(view.owner(shard_role::source, 2).has_value());
}

TEST(shard_ownership, a_target_stream_that_moves_to_another_member_is_one_move) {
  shard_ownership before({{"b1", {{1, 10}, {2, 10}}}, {"b2", {}}}, 2, 2);
  // b1 is gone; Temporal reopened shard 2's stream through the balancer, which sent it to b2.
  shard_ownership after({{"b2", {{2, 20}}}}, 2, 2);
  auto moves = moves_between(before, after);
  std::vector<ownership_move> targets;
  std::copy_if(moves.begin(), moves.end(), std::back_inserter(targets),
               [](const ownership_move& move) { return move.role == shard_role::target; });
  EXPECT_EQ(targets, (std::vector<ownership_move>{{shard_role::target, 1, "b1", std::nullopt},
                                                  {shard_role::target, 2, "b1", "b2"}}));
  for (const auto& move : moves) {
    if (move.role == shard_role::source) {
      EXPECT_EQ(move.from, std::optional<std::string>("b1"));
    }
  }
}

TEST(shard_ownership, views_of_different_counts_compare_over_the_larger_one) {
  shard_ownership small(members({"b1"}), 2, 1);
  shard_ownership large(members({"b1"}), 4, 1);
  auto moves = moves_between(small, large);
  EXPECT_EQ(moves, (std::vector<ownership_move>{{shard_role::source, 3, std::nullopt, "b1"},
                                                {shard_role::source, 4, std::nullopt, "b1"}}));
}
