// The memberlist block of a cluster connection turned into what the group needs: this instance's
// identity, the failure-detection timing, where to listen and whom to join.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cluster/membership.hpp"
#include "config/config.hpp"

namespace s2s::cluster {

struct group_plan {
  member_identity self;
  membership_timing timing;
  config::address bind;  // port 0 = a free port chosen when the group starts
  std::vector<config::address> join;
  std::map<std::string, std::string> proxy_addresses;  // memberlist.proxyAddresses as configured
};

// The timing the Go s2s-proxy gets from hashicorp/memberlist's defaults: its local profile (probe every
// 1000 ms, 200 ms timeout, suspicion multiplier 3), or with tcpOnly its WAN profile (5000 ms, 3000 ms, 6);
// probeIntervalMs and probeTimeoutMs override the first two when they are above 0.
membership_timing group_timing(const config::memberlist_config& memberlist);

// memberlist: an enabled block of a validated config (config::parse refuses a nodeName that is empty or missing
// from proxyAddresses, a joinAddrs entry that is not host:port, disableTCPPings), so nothing is checked here.
// incarnation: larger on every start of this instance (the actor shell passes the start time).
group_plan plan_group(const config::memberlist_config& memberlist, std::uint64_t incarnation);

}  // namespace s2s::cluster
