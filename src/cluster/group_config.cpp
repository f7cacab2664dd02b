// From the memberlist block to the group's plan, with defaults as the Go s2s-proxy's. The block is checked when
// the config is loaded (src/config/validate.cpp).
#include "cluster/group_config.hpp"

namespace s2s::cluster {

membership_timing group_timing(const config::memberlist_config& memberlist) {
  membership_timing timing;
  if (memberlist.tcp_only) {
    timing.probe_interval = std::chrono::milliseconds(5000);
    timing.probe_timeout = std::chrono::milliseconds(3000);
    timing.suspicion_intervals = 6;
  }
  if (memberlist.probe_interval_ms > 0)
    timing.probe_interval = std::chrono::milliseconds(memberlist.probe_interval_ms);
  if (memberlist.probe_timeout_ms > 0)
    timing.probe_timeout = std::chrono::milliseconds(memberlist.probe_timeout_ms);
  return timing;
}

group_plan plan_group(const config::memberlist_config& memberlist, std::uint64_t incarnation) {
  group_plan plan;
  plan.self = {memberlist.node_name, incarnation, {}};
  if (auto own = memberlist.proxy_addresses.find(memberlist.node_name); own != memberlist.proxy_addresses.end())
    plan.self.proxy_address = own->second;
  plan.timing = group_timing(memberlist);
  plan.bind = {memberlist.bind_address.empty() ? "0.0.0.0" : memberlist.bind_address,
               static_cast<std::uint16_t>(memberlist.bind_port)};
  for (const auto& text : memberlist.join_addresses)
    if (auto joined = config::parse_address(text))
      plan.join.push_back(*joined);
  plan.proxy_addresses = memberlist.proxy_addresses;
  return plan;
}

}  // namespace s2s::cluster
