// The memberlist block read into the group's plan: the Go proxy's defaults, identity, bind and join targets. What
// the block must hold is checked when the config is loaded (tests/config).
#include "cluster/group_config.hpp"

#include <gtest/gtest.h>

using namespace s2s;
using namespace s2s::cluster;
using namespace std::chrono_literals;

namespace {

config::memberlist_config two_instances() {
  config::memberlist_config memberlist;
  memberlist.enabled = true;
  memberlist.node_name = "b1";
  memberlist.bind_address = "10.0.0.1";
  memberlist.bind_port = 7946;
  memberlist.join_addresses = {"10.0.0.2:7946", "[fd00::3]:7946"};
  memberlist.proxy_addresses = {{"b1", "10.0.0.1:6334"}, {"b2", "10.0.0.2:6334"}};
  return memberlist;
}

TEST(group_config, the_timing_is_the_go_proxys_local_profile_by_default) {
  auto timing = group_timing({});
  EXPECT_EQ(timing.probe_interval, 1000ms);
  EXPECT_EQ(timing.probe_timeout, 200ms);
  EXPECT_EQ(timing.suspicion_intervals, 3);
}

TEST(group_config, tcp_only_takes_the_wan_profile_as_the_go_proxy_does) {
  config::memberlist_config memberlist;
  memberlist.tcp_only = true;
  auto timing = group_timing(memberlist);
  EXPECT_EQ(timing.probe_interval, 5000ms);
  EXPECT_EQ(timing.probe_timeout, 3000ms);
  EXPECT_EQ(timing.suspicion_intervals, 6);
}

TEST(group_config, probe_interval_and_timeout_override_the_profile) {
  config::memberlist_config memberlist;
  memberlist.tcp_only = true;
  memberlist.probe_interval_ms = 250;
  memberlist.probe_timeout_ms = 100;
  auto timing = group_timing(memberlist);
  EXPECT_EQ(timing.probe_interval, 250ms);
  EXPECT_EQ(timing.probe_timeout, 100ms);
  EXPECT_EQ(timing.suspicion_intervals, 6);
}

TEST(group_config, a_complete_block_gives_identity_bind_and_join_targets) {
  auto plan = plan_group(two_instances(), 42);
  EXPECT_EQ(plan.self, (member_identity{"b1", 42, "10.0.0.1:6334"}));
  EXPECT_EQ(plan.bind, (config::address{"10.0.0.1", 7946}));
  ASSERT_EQ(plan.join.size(), 2u);
  EXPECT_EQ(plan.join[0], (config::address{"10.0.0.2", 7946}));
  EXPECT_EQ(plan.join[1].host, "fd00::3");
  EXPECT_EQ(plan.proxy_addresses.size(), 2u);
}

TEST(group_config, an_empty_bind_address_listens_on_every_interface) {
  auto memberlist = two_instances();
  memberlist.bind_address.clear();
  memberlist.bind_port = 0;
  EXPECT_EQ(plan_group(memberlist, 1).bind, (config::address{"0.0.0.0", 0}));
}

TEST(group_config, the_plan_takes_the_blocks_timing) {
  auto memberlist = two_instances();
  memberlist.tcp_only = true;
  memberlist.probe_interval_ms = 250;
  auto timing = plan_group(memberlist, 1).timing;
  EXPECT_EQ(timing.probe_interval, 250ms);
  EXPECT_EQ(timing.probe_timeout, 3000ms);
  EXPECT_EQ(timing.suspicion_intervals, 6);
}

}  // namespace
