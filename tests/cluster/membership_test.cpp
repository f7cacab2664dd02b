// The group table: joining, the failure-detection bound, lost connections, incarnations and refusals.
#include "cluster/membership.hpp"

#include <gtest/gtest.h>

using namespace s2s::cluster;
using namespace std::chrono_literals;

namespace {

// I 1000 ms, T 200 ms, k 3: suspect after 1200 ms of silence, dead 3000 ms later.
membership_timing test_timing() { return {1000ms, 200ms, 3}; }

struct membership_table : ::testing::Test {
  time_point start = time_point{} + 10h;
  membership table{{"a1", 100, "10.0.0.1:7233"}, test_timing()};

  member_state state_of(const std::string& name) {
    const auto* peer = table.find(name);
    EXPECT_NE(peer, nullptr) << name;
    return peer ? peer->state : member_state::dead;
  }
};

TEST_F(membership_table, the_bound_is_one_interval_and_the_timeout_to_suspicion_then_k_intervals_to_death) {
  EXPECT_EQ(test_timing().suspect_after(), 1200ms);
  EXPECT_EQ(test_timing().dead_after(), 3000ms);
  EXPECT_EQ(test_timing().detection_bound(), 4200ms);
}

TEST_F(membership_table, a_hello_from_a_new_name_joins_it_alive) {
  auto result = table.on_hello({"a2", 7, "10.0.0.2:7233"}, start);
  EXPECT_EQ(result.outcome, hello_outcome::joined);
  EXPECT_TRUE(result.accepted());
  ASSERT_NE(table.find("a2"), nullptr);
  EXPECT_EQ(table.find("a2")->identity, (member_identity{"a2", 7, "10.0.0.2:7233"}));
  EXPECT_EQ(state_of("a2"), member_state::alive);
  EXPECT_TRUE(table.find("a2")->connected);
}

TEST_F(membership_table, a_silent_peer_is_suspect_after_interval_plus_timeout_and_dead_k_intervals_later) {
  table.on_hello({"a2", 7, ""}, start);
  EXPECT_TRUE(table.advance(start + 1199ms).empty());
  EXPECT_EQ(state_of("a2"), member_state::alive);
  EXPECT_EQ(table.next_deadline(), start + 1200ms);

  auto changes = table.advance(start + 1200ms);
  EXPECT_EQ(changes, (std::vector<state_change>{{"a2", member_state::alive, member_state::suspect}}));
  EXPECT_EQ(table.next_deadline(), start + 4200ms);

  EXPECT_TRUE(table.advance(start + 4199ms).empty());
  EXPECT_EQ(state_of("a2"), member_state::suspect);
  changes = table.advance(start + 4200ms);
  EXPECT_EQ(changes, (std::vector<state_change>{{"a2", member_state::suspect, member_state::dead}}));
  EXPECT_EQ(table.next_deadline(), std::nullopt);
}

TEST_F(membership_table, a_late_look_takes_both_steps_and_reports_them_in_order) {
  table.on_hello({"a2", 7, ""}, start);
  auto changes = table.advance(start + 1h);
  EXPECT_EQ(changes, (std::vector<state_change>{{"a2", member_state::alive, member_state::suspect},
                                                {"a2", member_state::suspect, member_state::dead}}));
}

TEST_F(membership_table, heartbeats_keep_a_peer_alive) {
  table.on_hello({"a2", 7, ""}, start);
  for (int beat = 1; beat <= 10; ++beat) {
    auto at = start + beat * 1000ms;
    EXPECT_EQ(table.on_heartbeat("a2", 7, at), heartbeat_outcome::accepted);
    EXPECT_TRUE(table.advance(at + 1199ms).empty());
  }
  EXPECT_EQ(state_of("a2"), member_state::alive);
}

TEST_F(membership_table, a_heartbeat_brings_a_suspect_or_dead_peer_back_alive) {
  table.on_hello({"a2", 7, ""}, start);
  table.advance(start + 2s);
  EXPECT_EQ(state_of("a2"), member_state::suspect);
  EXPECT_EQ(table.on_heartbeat("a2", 7, start + 2s), heartbeat_outcome::accepted);
  EXPECT_EQ(state_of("a2"), member_state::alive);

  table.advance(start + 1h);
  EXPECT_EQ(state_of("a2"), member_state::dead);
  EXPECT_EQ(table.on_heartbeat("a2", 7, start + 1h), heartbeat_outcome::accepted);
  EXPECT_EQ(state_of("a2"), member_state::alive);
  EXPECT_EQ(table.next_deadline(), start + 1h + 1200ms);
}

TEST_F(membership_table, a_heartbeat_before_any_hello_or_from_a_newer_incarnation_is_unknown) {
  EXPECT_EQ(table.on_heartbeat("a2", 7, start), heartbeat_outcome::unknown);
  EXPECT_EQ(table.find("a2"), nullptr);
  table.on_hello({"a2", 7, ""}, start);
  EXPECT_EQ(table.on_heartbeat("a2", 8, start + 1s), heartbeat_outcome::unknown);
  EXPECT_EQ(table.find("a2")->last_heard, start);
}

TEST_F(membership_table, a_lost_connection_makes_the_peer_suspect_at_once_and_dead_k_intervals_later) {
  table.on_hello({"a2", 7, ""}, start);
  auto change = table.on_connection_lost("a2", 7, start + 500ms);
  ASSERT_TRUE(change);
  EXPECT_EQ(*change, (state_change{"a2", member_state::alive, member_state::suspect}));
  EXPECT_FALSE(table.find("a2")->connected);
  EXPECT_EQ(table.next_deadline(), start + 3500ms);
  EXPECT_TRUE(table.advance(start + 3499ms).empty());
  EXPECT_EQ(table.advance(start + 3500ms),
            (std::vector<state_change>{{"a2", member_state::suspect, member_state::dead}}));
}

TEST_F(membership_table, a_lost_connection_does_not_restart_a_suspicion_already_running) {
  table.on_hello({"a2", 7, ""}, start);
  table.advance(start + 1200ms);
  EXPECT_EQ(table.on_connection_lost("a2", 7, start + 2s), std::nullopt);
  EXPECT_EQ(table.next_deadline(), start + 4200ms);
}

TEST_F(membership_table, the_loss_of_a_replaced_incarnation_leaves_the_new_one_alone) {
  table.on_hello({"a2", 7, ""}, start);
  table.on_hello({"a2", 9, ""}, start + 1s);
  EXPECT_EQ(table.on_connection_lost("a2", 7, start + 1s), std::nullopt);
  EXPECT_EQ(state_of("a2"), member_state::alive);
  EXPECT_TRUE(table.find("a2")->connected);
}

TEST_F(membership_table, the_same_name_and_incarnation_coming_back_is_alive_and_connected_again) {
  table.on_hello({"a2", 7, "10.0.0.2:7233"}, start);
  table.on_connection_lost("a2", 7, start + 1s);
  table.advance(start + 1h);
  EXPECT_EQ(state_of("a2"), member_state::dead);

  auto result = table.on_hello({"a2", 7, "10.0.0.2:7233"}, start + 1h + 1s);
  EXPECT_EQ(result.outcome, hello_outcome::refreshed);
  EXPECT_EQ(state_of("a2"), member_state::alive);
  EXPECT_TRUE(table.find("a2")->connected);
  EXPECT_EQ(table.find("a2")->suspect_since, std::nullopt);
}

TEST_F(membership_table, a_higher_incarnation_replaces_the_entry_with_its_own_address) {
  table.on_hello({"a2", 7, "10.0.0.2:7233"}, start);
  table.on_connection_lost("a2", 7, start + 1s);
  auto result = table.on_hello({"a2", 8, "10.0.0.9:7233"}, start + 2s);
  EXPECT_EQ(result.outcome, hello_outcome::replaced);
  EXPECT_EQ(table.find("a2")->identity, (member_identity{"a2", 8, "10.0.0.9:7233"}));
  EXPECT_EQ(state_of("a2"), member_state::alive);
  EXPECT_EQ(table.on_heartbeat("a2", 7, start + 3s), heartbeat_outcome::stale);
  EXPECT_EQ(table.on_heartbeat("a2", 8, start + 3s), heartbeat_outcome::accepted);
}

TEST_F(membership_table, a_lower_incarnation_is_ignored_and_the_notice_suspects_a_shared_name) {
  table.on_hello({"a2", 8, "10.0.0.9:7233"}, start);
  auto result = table.on_hello({"a2", 7, "10.0.0.2:7233"}, start + 1s);
  EXPECT_EQ(result.outcome, hello_outcome::stale);
  EXPECT_FALSE(result.accepted());
  EXPECT_NE(result.message.find("incarnation 7, older than the 8"), std::string::npos) << result.message;
  EXPECT_NE(result.message.find("two instances share the nodeName 'a2'"), std::string::npos) << result.message;
  EXPECT_EQ(table.find("a2")->identity.incarnation, 8u);
  ASSERT_EQ(table.notices().size(), 1u);
  EXPECT_EQ(table.notices().back().message, result.message);
}

TEST_F(membership_table, a_peer_with_this_instances_own_name_is_refused_and_the_reason_names_the_key) {
  auto result = table.on_hello({"a1", 5, "10.0.0.5:7233"}, start);
  EXPECT_EQ(result.outcome, hello_outcome::refused);
  EXPECT_FALSE(result.accepted());
  EXPECT_NE(result.message.find("says its nodeName is 'a1', which is this instance's own nodeName"), std::string::npos)
      << result.message;
  EXPECT_NE(result.message.find("memberlist.nodeName"), std::string::npos) << result.message;
  EXPECT_NE(result.message.find("10.0.0.5:7233"), std::string::npos) << result.message;
  EXPECT_TRUE(table.members().empty());
  ASSERT_EQ(table.notices().size(), 1u);
}

TEST_F(membership_table, a_hello_without_a_name_is_refused) {
  auto result = table.on_hello({"", 5, ""}, start);
  EXPECT_EQ(result.outcome, hello_outcome::refused);
  EXPECT_NE(result.message.find("without a nodeName"), std::string::npos) << result.message;
  EXPECT_TRUE(table.members().empty());
}

TEST_F(membership_table, a_peer_announcing_another_address_than_proxy_addresses_says_so_and_is_taken_at_its_word) {
  membership configured{{"a1", 100, ""}, test_timing(), {{"a2", "10.0.0.2:7233"}}};
  auto result = configured.on_hello({"a2", 7, "10.0.0.3:7233"}, start);
  EXPECT_EQ(result.outcome, hello_outcome::joined);
  EXPECT_NE(result.message.find("memberlist.proxyAddresses.a2 is 10.0.0.2:7233"), std::string::npos) << result.message;
  EXPECT_EQ(configured.find("a2")->identity.proxy_address, "10.0.0.3:7233");
  EXPECT_EQ(configured.notices().size(), 1u);
  EXPECT_EQ(configured.on_hello({"a3", 1, "10.0.0.4:7233"}, start).message, "");
}

TEST_F(membership_table, notices_keep_only_the_latest) {
  for (int i = 0; i < 20; ++i)
    table.on_hello({"a1", static_cast<std::uint64_t>(i), ""}, start + i * 1s);
  ASSERT_EQ(table.notices().size(), membership::max_notices);
  EXPECT_EQ(table.notices().front().at, start + 4s);
  EXPECT_EQ(table.notices().back().at, start + 19s);
}

TEST_F(membership_table, the_next_deadline_is_the_earliest_over_all_peers) {
  table.on_hello({"a2", 7, ""}, start);
  table.on_hello({"a3", 1, ""}, start + 500ms);
  EXPECT_EQ(table.next_deadline(), start + 1200ms);
  table.on_heartbeat("a2", 7, start + 1s);
  EXPECT_EQ(table.next_deadline(), start + 1700ms);
}

}  // namespace

TEST_F(membership_table, a_peer_carries_calls_only_while_alive_connected_and_with_sessions_it_said_it_has) {
  table.on_hello({"a2", 7, "10.0.0.2:7233"}, start);
  table.on_hello({"a3", 8, ""}, start);
  EXPECT_TRUE(table.carriers().empty()) << "no heartbeat has told of sessions yet";

  table.on_heartbeat("a2", 7, start + 1s, 2);
  table.on_heartbeat("a3", 8, start + 1s, 3);
  auto carriers = table.carriers();
  ASSERT_EQ(carriers.size(), 1u) << "a3 announced no proxy address: nobody can reach it";
  EXPECT_EQ(carriers[0], (member_identity{"a2", 7, "10.0.0.2:7233"}));
  EXPECT_EQ(table.find("a2")->sessions, 2u);

  table.on_heartbeat("a2", 7, start + 2s, 0);
  EXPECT_TRUE(table.carriers().empty()) << "a2 lost its sessions";

  table.on_heartbeat("a2", 7, start + 3s, 1);
  EXPECT_EQ(table.carriers().size(), 1u);
  table.on_connection_lost("a2", 7, start + 3500ms);
  EXPECT_TRUE(table.carriers().empty()) << "a suspect peer carries nothing";
  EXPECT_EQ(table.find("a2")->sessions, 0u);

  table.on_hello({"a2", 7, "10.0.0.2:7233"}, start + 4s);
  EXPECT_TRUE(table.carriers().empty()) << "back, but sessions come with its next heartbeat";
  table.on_heartbeat("a2", 7, start + 5s, 1);
  EXPECT_EQ(table.carriers().size(), 1u);

  table.advance(start + 5s + test_timing().detection_bound() + 1ms);
  EXPECT_EQ(state_of("a2"), member_state::dead);
  EXPECT_TRUE(table.carriers().empty()) << "a silent peer is dead and carries nothing";
}

TEST_F(membership_table, a_peer_that_leaves_is_dead_at_once_carries_nothing_and_is_back_only_with_a_hello) {
  table.on_hello({"a2", 7, "10.0.0.2:7233"}, start);
  table.on_heartbeat("a2", 7, start + 1s, 1);
  ASSERT_EQ(table.carriers().size(), 1u);

  EXPECT_EQ(table.on_leave("a2", 6, start + 2s), std::nullopt) << "an older incarnation's leave changes nothing";
  EXPECT_EQ(state_of("a2"), member_state::alive);

  auto change = table.on_leave("a2", 7, start + 2s);
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(*change, (state_change{"a2", member_state::alive, member_state::dead}));
  EXPECT_EQ(state_of("a2"), member_state::dead);
  EXPECT_TRUE(table.carriers().empty());
  EXPECT_FALSE(table.next_deadline().has_value()) << "nothing is pending for a peer that left";

  EXPECT_EQ(table.on_heartbeat("a2", 7, start + 2100ms, 1), heartbeat_outcome::unknown)
      << "a heartbeat sent before the leave does not bring it back";
  EXPECT_EQ(state_of("a2"), member_state::dead);

  EXPECT_EQ(table.on_hello({"a2", 7, "10.0.0.2:7233"}, start + 3s).outcome, hello_outcome::refreshed);
  EXPECT_EQ(state_of("a2"), member_state::alive);
  EXPECT_EQ(table.on_heartbeat("a2", 7, start + 4s, 1), heartbeat_outcome::accepted);
  EXPECT_EQ(table.carriers().size(), 1u);
}
