// The mux-server's pool of accepted connections that have not spoken yet: which one to drop when
// a flood fills it, and which ones waited too long for their first TLS bytes. Pure logic: a
// connection is a handle (the acceptor's fd) with its source address and the time it came.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace s2s::actors {

// Why a mux-server closed a connection before it became a session, or closed the session.
enum class mux_refusal {
  hello_timeout,        // sent nothing within the hello timeout
  waiting_pool_full,    // the oldest idle connection, when the pool was full
  per_source_cap,       // the oldest idle connection of a source over its cap
  handshake_pool_full,  // the oldest handshake, when too many were in progress
  handshake_failed,     // TLS failed or timed out, or the peer closed before speaking yamux
  over_mux_count,       // came up while muxCount sessions already were
  shutting_down,        // arrived while the connection was stopping
};
inline constexpr std::array<std::string_view, 7> mux_refusal_names = {
    "hello_timeout",    "waiting_pool_full", "per_source_cap", "handshake_pool_full",
    "handshake_failed", "over_mux_count",    "shutting_down"};

class mux_waiting_pool {
 public:
  using clock = std::chrono::steady_clock;
  struct limits {
    std::size_t max_waiting = 1024;
    std::size_t max_per_source = 64;
    std::chrono::milliseconds hello_timeout{3000};
  };
  struct eviction {
    int handle = -1;
    mux_refusal cause = mux_refusal::waiting_pool_full;
  };

  explicit mux_waiting_pool(limits bounds) : limits_(bounds) {}

  // Takes a connection just accepted; returns those it displaced (the caller closes them): the
  // oldest idle one of its source when the source is over its cap, then the oldest idle one of
  // all when the pool is over its bound. A readable connection is never displaced.
  std::vector<eviction> admit(int handle, std::string source, clock::time_point now);
  // The connection has bytes to read: it is handed on by the next take_readable.
  void mark_readable(int handle);
  // Removes and returns the readable connections, oldest first.
  std::vector<int> take_readable();
  // Removes and returns the idle connections that waited longer than the hello timeout.
  std::vector<eviction> expire(clock::time_point now);
  // When the oldest idle connection's hello timeout runs out.
  std::optional<clock::time_point> next_expiry() const;
  // Every connection, oldest first (to poll them); the pool is empty after take_all.
  std::vector<int> handles() const;
  std::vector<int> take_all();
  std::size_t size() const { return entries_.size(); }
  std::size_t from(std::string_view source) const;

 private:
  struct entry {
    int handle;
    std::string source;
    clock::time_point since;
    bool readable = false;
  };
  // Removes the oldest idle entry (of `source`, when given); false if there is none.
  bool evict_oldest_idle(const std::string* source, mux_refusal cause, std::vector<eviction>& out);
  void erase(std::deque<entry>::iterator at);
  // Removes and returns the entries `wanted` picks, oldest first.
  std::vector<entry> take_if(const std::function<bool(const entry&)>& wanted);

  limits limits_;
  std::deque<entry> entries_;  // oldest first
  std::unordered_map<std::string, std::size_t> per_source_;
};

}  // namespace s2s::actors
