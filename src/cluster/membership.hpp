// The group table of one side's proxy instances: who is alive, suspect or dead, decided from hellos,
// heartbeats, lost connections and the time passed in. Plain C++: no sockets, no clocks, no actors.
//
// Failure detection (docs/several-instances.md states the same bound):
//   I = probe_interval (a peer sends a heartbeat every I), T = probe_timeout, k = suspicion_intervals.
//   - A peer not heard from (hello or heartbeat) for I + T is suspect; so is a peer whose connection
//     was lost, at once.
//   - A peer suspect for k * I is dead.
//   So a peer that stops is dead at most (k + 1) * I + T after the last heartbeat this instance heard
//   from it, and at most k * I after its connection drops, whichever comes first. With the defaults
//   (I 1000 ms, T 200 ms, k 3): suspect within 1.2 s, dead within 4.2 s, or 3 s after a lost connection.
//   Dead is not final: a hello or heartbeat of the same incarnation makes the peer alive again.
//
// Identity: a peer is its node name; an incarnation number (larger on each start of that instance)
// tells a restarted instance from the one before it. A hello with a higher incarnation replaces the
// entry; a lower one is an older instance (or a second instance with the same name) and is ignored.
// A peer with this instance's own node name is refused, and the refusal says why.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace s2s::cluster {

using time_point = std::chrono::steady_clock::time_point;

struct membership_timing {
  std::chrono::milliseconds probe_interval{1000};
  std::chrono::milliseconds probe_timeout{200};
  int suspicion_intervals = 3;

  // Silence after which a peer is suspect.
  std::chrono::milliseconds suspect_after() const { return probe_interval + probe_timeout; }
  // Time a peer stays suspect before it is dead.
  std::chrono::milliseconds dead_after() const { return probe_interval * suspicion_intervals; }
  // The longest time from a peer's last heartbeat to its being dead (the failure-detection bound).
  std::chrono::milliseconds detection_bound() const { return suspect_after() + dead_after(); }
};

// What an instance says about itself in its hello.
struct member_identity {
  std::string node_name;
  std::uint64_t incarnation = 0;
  std::string proxy_address;  // where the peers reach this instance's proxy; may be empty

  bool operator==(const member_identity&) const = default;
};

enum class member_state { alive, suspect, dead };
std::string_view to_string(member_state state);

struct member {
  member_identity identity;
  member_state state = member_state::alive;
  bool connected = true;  // false once its connection was lost, until it says hello again
  time_point last_heard{};
  std::optional<time_point> suspect_since;
  // The peer's live mux sessions to the other side, as its latest heartbeat said: a peer with some can
  // carry the calls of an instance that has none.
  std::uint32_t sessions = 0;
  // It said it was leaving: dead, and its heartbeats are ignored until it says hello again.
  bool left = false;

  bool operator==(const member&) const = default;
};

enum class hello_outcome {
  joined,     // a name not seen before
  refreshed,  // the incarnation already known: the same instance, alive (again)
  replaced,   // a higher incarnation: a restarted instance takes the entry over
  refused,    // this instance's own name, or no name
  stale,      // a lower incarnation than the one known: ignored
};
std::string_view to_string(hello_outcome outcome);

struct hello_result {
  hello_outcome outcome;
  // Why, for refused and stale; for the others a warning or empty.
  std::string message;

  bool accepted() const { return outcome != hello_outcome::refused && outcome != hello_outcome::stale; }
};

enum class heartbeat_outcome {
  accepted,  // refreshes the peer (and makes it alive if it was suspect or dead)
  unknown,   // no entry with that name and incarnation yet: the peer must say hello first
  stale,     // a lower incarnation than the one known: ignored
};

struct state_change {
  std::string node_name;
  member_state from;
  member_state to;

  bool operator==(const state_change&) const = default;
};

// Something a person should read: a refusal, an ignored older incarnation, a conflicting address.
struct notice {
  time_point at;
  std::string message;
};

class membership {
 public:
  static constexpr std::size_t max_notices = 16;

  // configured_proxy_addresses: memberlist.proxyAddresses; a peer announcing another address than
  // its entry there gets a notice (its own announcement is what the table keeps).
  membership(member_identity self, membership_timing timing,
             std::map<std::string, std::string> configured_proxy_addresses = {});

  hello_result on_hello(const member_identity& peer, time_point now);
  heartbeat_outcome on_heartbeat(std::string_view node_name, std::uint64_t incarnation, time_point now,
                                 std::uint32_t sessions = 0);
  // The connection to that incarnation of the peer is gone: it is suspect from now. A loss reported for
  // an incarnation the table no longer holds (the peer has been replaced) changes nothing.
  std::optional<state_change> on_connection_lost(std::string_view node_name, std::uint64_t incarnation, time_point now);
  // That incarnation of the peer says it is leaving (it stops): it is dead from now, with no sessions, and
  // comes back only with a hello. A leave for an incarnation the table no longer holds changes nothing.
  std::optional<state_change> on_leave(std::string_view node_name, std::uint64_t incarnation, time_point now);
  // Moves peers along alive -> suspect -> dead by the time passed; returns each step taken, in order.
  std::vector<state_change> advance(time_point now);

  // The earliest time at which advance() would change a state; empty when nothing is pending.
  std::optional<time_point> next_deadline() const;

  const member_identity& self() const { return self_; }
  const membership_timing& timing() const { return timing_; }
  const member* find(std::string_view node_name) const;
  // Every peer ever accepted, by name (dead ones too, until they come back).
  const std::map<std::string, member, std::less<>>& members() const { return members_; }
  // The peers that can carry this instance's calls now: alive, connected, with live sessions and a proxy
  // address to be reached at; by name.
  std::vector<member_identity> carriers() const;
  // The latest notices, oldest first, at most max_notices.
  const std::deque<notice>& notices() const { return notices_; }
  // Adds a notice of the shell's own (a peer refused this instance, say), dropping the oldest beyond
  // max_notices.
  void note(time_point now, std::string message);

 private:
  std::string address_warning(const member_identity& peer) const;
  // The entry of that incarnation, no longer connected and with no sessions; null when the table holds
  // another incarnation or none.
  member* disconnect(std::string_view node_name, std::uint64_t incarnation);

  member_identity self_;
  membership_timing timing_;
  std::map<std::string, std::string> configured_proxy_addresses_;
  std::map<std::string, member, std::less<>> members_;
  std::deque<notice> notices_;
};

}  // namespace s2s::cluster
