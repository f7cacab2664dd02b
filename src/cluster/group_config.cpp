// From the memberlist block to the group's plan: defaults as the Go s2s-proxy's, and the problems that
// would leave the group unable to form or to detect failures.
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

group_plan_result plan_group(const config::memberlist_config& memberlist, std::uint64_t incarnation) {
  group_plan_result result;
  auto& problems = result.problems;
  if (memberlist.node_name.empty())
    problems.push_back(
        "memberlist.nodeName is empty: each instance of a side needs a name of its own, which its peers know it by");
  if (memberlist.disable_tcp_pings)
    problems.push_back(
        "memberlist.disableTCPPings is true, but the heartbeats over the group's TCP connections are the only probe: "
        "without them no failed peer would be detected; remove the key or set it to false");
  group_plan plan;
  plan.self = {memberlist.node_name, incarnation, {}};
  if (auto own = memberlist.proxy_addresses.find(memberlist.node_name); own != memberlist.proxy_addresses.end())
    plan.self.proxy_address = own->second;
  plan.timing = group_timing(memberlist);
  plan.bind = {memberlist.bind_address.empty() ? "0.0.0.0" : memberlist.bind_address,
               static_cast<std::uint16_t>(memberlist.bind_port)};
  for (std::size_t i = 0; i < memberlist.join_addresses.size(); ++i) {
    const auto& text = memberlist.join_addresses[i];
    auto joined = config::parse_address(text);
    if (!joined || joined->port == 0) {
      auto why = joined ? std::string("the port is 0") : config::address_problem(text);
      problems.push_back("memberlist.joinAddrs[" + std::to_string(i) + "] '" + text +
                         "' is not a host:port of a peer's memberlist bindPort: " + why);
      continue;
    }
    plan.join.push_back(*joined);
  }
  plan.proxy_addresses = memberlist.proxy_addresses;
  if (problems.empty())
    result.plan = std::move(plan);
  return result;
}

}  // namespace s2s::cluster
