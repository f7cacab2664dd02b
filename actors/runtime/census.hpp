// How many actors of each kind are alive right now, counted by the actors themselves: a member of
// each actor's state, made with the state when the actor starts and gone with it when the actor
// ends. The stop waits on it, and a stop that cannot finish names what is still running from it.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace s2s::actors::census {

enum class kind : std::uint8_t {
  supervisor,
  listener,
  call,
  upstream,
  mux_connection,
  mux_session,
  mux_upstream,
  membership,
  routing_hub,
  schema,
  schema_fetch,  // the short-lived thread actor that reads a schema
};
inline constexpr std::size_t kinds = static_cast<std::size_t>(kind::schema_fetch) + 1;

// The label of a kind, as the metrics and the logs name it.
std::string_view label(kind k);

namespace detail {
inline std::array<std::atomic<std::int64_t>, kinds> live{};
}

// One actor of a kind, counted while this lives.
class mark {
 public:
  explicit mark(kind k) : kind_(k) { detail::live[index()].fetch_add(1, std::memory_order_relaxed); }
  ~mark() { detail::live[index()].fetch_sub(1, std::memory_order_relaxed); }
  mark(const mark&) = delete;
  mark& operator=(const mark&) = delete;

 private:
  std::size_t index() const { return static_cast<std::size_t>(kind_); }
  kind kind_;
};

// The actors of a kind alive now.
inline std::int64_t live(kind k) { return detail::live[static_cast<std::size_t>(k)].load(std::memory_order_relaxed); }

// The actors of every kind alive now.
std::int64_t total();

// "3 call, 1 routing_hub": every kind with a live actor; empty when none is.
std::string describe_live();

}  // namespace s2s::actors::census
