// The group table: hellos, heartbeats, lost connections and time moving peers between alive, suspect
// and dead.
#include "cluster/membership.hpp"

#include <algorithm>
#include <utility>

namespace s2s::cluster {

std::string_view to_string(member_state state) {
  switch (state) {
    case member_state::alive:
      return "alive";
    case member_state::suspect:
      return "suspect";
    case member_state::dead:
      return "dead";
  }
  return "unknown";
}

std::string_view to_string(hello_outcome outcome) {
  switch (outcome) {
    case hello_outcome::joined:
      return "joined";
    case hello_outcome::refreshed:
      return "refreshed";
    case hello_outcome::replaced:
      return "replaced";
    case hello_outcome::refused:
      return "refused";
    case hello_outcome::stale:
      return "stale";
  }
  return "unknown";
}

namespace {

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

std::string described_address(const std::string& proxy_address) {
  return proxy_address.empty() ? "no proxy address" : "proxy address " + proxy_address;
}

}  // namespace

membership::membership(member_identity self, membership_timing timing,
                       std::map<std::string, std::string> configured_proxy_addresses)
    : self_(std::move(self)), timing_(timing), configured_proxy_addresses_(std::move(configured_proxy_addresses)) {}

void membership::note(time_point now, std::string message) {
  notices_.push_back({now, std::move(message)});
  while (notices_.size() > max_notices)
    notices_.pop_front();
}

std::string membership::address_warning(const member_identity& peer) const {
  auto configured = configured_proxy_addresses_.find(peer.node_name);
  if (configured == configured_proxy_addresses_.end() || configured->second == peer.proxy_address)
    return {};
  return "peer " + quoted(peer.node_name) + " announces " + described_address(peer.proxy_address) +
         ", but memberlist.proxyAddresses." + peer.node_name + " is " + configured->second +
         "; the announced address is used: correct the entry or the peer's own proxyAddresses";
}

hello_result membership::on_hello(const member_identity& peer, time_point now) {
  if (peer.node_name.empty()) {
    std::string message = "a peer with " + described_address(peer.proxy_address) +
                          " sent a hello without a nodeName; every instance needs memberlist.nodeName";
    note(now, message);
    return {hello_outcome::refused, std::move(message)};
  }
  if (peer.node_name == self_.node_name) {
    std::string message = "a peer with " + described_address(peer.proxy_address) + " says its nodeName is " +
                          quoted(peer.node_name) +
                          ", which is this instance's own nodeName: two instances of one side share a name; give "
                          "each its own memberlist.nodeName";
    note(now, message);
    return {hello_outcome::refused, std::move(message)};
  }
  auto warning = address_warning(peer);
  if (!warning.empty())
    note(now, warning);
  auto known = members_.find(peer.node_name);
  if (known == members_.end()) {
    members_.emplace(peer.node_name, member{peer, member_state::alive, true, now, std::nullopt});
    return {hello_outcome::joined, std::move(warning)};
  }
  member& entry = known->second;
  if (peer.incarnation < entry.identity.incarnation) {
    std::string message = "peer " + quoted(peer.node_name) + " (" + described_address(peer.proxy_address) +
                          ") introduced itself with incarnation " + std::to_string(peer.incarnation) +
                          ", older than the " + std::to_string(entry.identity.incarnation) + " this instance knows (" +
                          described_address(entry.identity.proxy_address) +
                          "): ignored; if both are running, two instances share the nodeName " + quoted(peer.node_name);
    note(now, message);
    return {hello_outcome::stale, std::move(message)};
  }
  auto outcome = peer.incarnation > entry.identity.incarnation ? hello_outcome::replaced : hello_outcome::refreshed;
  entry = member{peer, member_state::alive, true, now, std::nullopt};
  return {outcome, std::move(warning)};
}

heartbeat_outcome membership::on_heartbeat(std::string_view node_name, std::uint64_t incarnation, time_point now,
                                           std::uint32_t sessions) {
  auto known = members_.find(node_name);
  if (known == members_.end() || incarnation > known->second.identity.incarnation)
    return heartbeat_outcome::unknown;
  member& entry = known->second;
  if (incarnation < entry.identity.incarnation)
    return heartbeat_outcome::stale;
  if (entry.left)
    return heartbeat_outcome::unknown;  // a beat sent before its leave: it must say hello to be back
  entry.last_heard = std::max(entry.last_heard, now);
  entry.state = member_state::alive;
  entry.suspect_since.reset();
  entry.sessions = sessions;
  return heartbeat_outcome::accepted;
}

member* membership::disconnect(std::string_view node_name, std::uint64_t incarnation) {
  auto known = members_.find(node_name);
  if (known == members_.end() || known->second.identity.incarnation != incarnation)
    return nullptr;
  member& entry = known->second;
  entry.connected = false;
  entry.sessions = 0;  // whatever it has, it cannot carry calls for this instance now
  return &entry;
}

std::optional<state_change> membership::on_leave(std::string_view node_name, std::uint64_t incarnation,
                                                 time_point now) {
  member* left = disconnect(node_name, incarnation);
  if (!left)
    return std::nullopt;
  member& entry = *left;
  entry.left = true;
  entry.suspect_since.reset();
  entry.last_heard = std::max(entry.last_heard, now);
  auto from = entry.state;
  entry.state = member_state::dead;
  if (from == member_state::dead)
    return std::nullopt;
  return state_change{entry.identity.node_name, from, member_state::dead};
}

std::vector<member_identity> membership::carriers() const {
  std::vector<member_identity> found;
  for (const auto& [name, entry] : members_)
    if (entry.state == member_state::alive && entry.connected && entry.sessions > 0 &&
        !entry.identity.proxy_address.empty())
      found.push_back(entry.identity);
  return found;
}

std::optional<state_change> membership::on_connection_lost(std::string_view node_name, std::uint64_t incarnation,
                                                           time_point now) {
  member* lost = disconnect(node_name, incarnation);
  if (!lost)
    return std::nullopt;
  member& entry = *lost;
  if (entry.state != member_state::alive)
    return std::nullopt;
  entry.state = member_state::suspect;
  entry.suspect_since = now;
  return state_change{entry.identity.node_name, member_state::alive, member_state::suspect};
}

std::vector<state_change> membership::advance(time_point now) {
  std::vector<state_change> changes;
  for (auto& [name, entry] : members_) {
    if (entry.state == member_state::alive && now >= entry.last_heard + timing_.suspect_after()) {
      entry.state = member_state::suspect;
      entry.suspect_since = entry.last_heard + timing_.suspect_after();
      changes.push_back({name, member_state::alive, member_state::suspect});
    }
    if (entry.state == member_state::suspect && now >= *entry.suspect_since + timing_.dead_after()) {
      entry.state = member_state::dead;
      changes.push_back({name, member_state::suspect, member_state::dead});
    }
  }
  return changes;
}

std::optional<time_point> membership::next_deadline() const {
  std::optional<time_point> earliest;
  for (const auto& [name, entry] : members_) {
    std::optional<time_point> deadline;
    if (entry.state == member_state::alive)
      deadline = entry.last_heard + timing_.suspect_after();
    else if (entry.state == member_state::suspect)
      deadline = *entry.suspect_since + timing_.dead_after();
    if (deadline && (!earliest || *deadline < *earliest))
      earliest = deadline;
  }
  return earliest;
}

const member* membership::find(std::string_view node_name) const {
  auto known = members_.find(node_name);
  return known == members_.end() ? nullptr : &known->second;
}

}  // namespace s2s::cluster
