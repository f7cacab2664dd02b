// The mux-server's pool of silent connections: which one a flood displaces, and when one that
// said nothing is closed.
#include "actors/mux/waiting_pool.hpp"

#include <gtest/gtest.h>

namespace s2s::actors {
namespace {

using namespace std::chrono_literals;
using clock = mux_waiting_pool::clock;

const clock::time_point start{};

mux_waiting_pool pool_of(std::size_t max_waiting, std::size_t max_per_source) {
  return mux_waiting_pool({max_waiting, max_per_source, 3000ms});
}

std::vector<int> handles_of(const std::vector<mux_waiting_pool::eviction>& evicted, mux_refusal cause) {
  std::vector<int> handles;
  for (const auto& e : evicted) {
    EXPECT_EQ(e.cause, cause);
    handles.push_back(e.handle);
  }
  return handles;
}

TEST(MuxWaitingPool, AFullPoolDropsItsOldestIdleConnectionNotTheNewcomer) {
  auto pool = pool_of(3, 10);
  EXPECT_TRUE(pool.admit(1, "10.0.0.1", start).empty());
  EXPECT_TRUE(pool.admit(2, "10.0.0.2", start + 1ms).empty());
  EXPECT_TRUE(pool.admit(3, "10.0.0.3", start + 2ms).empty());
  EXPECT_EQ(handles_of(pool.admit(4, "10.0.0.4", start + 3ms), mux_refusal::waiting_pool_full), std::vector<int>{1});
  EXPECT_EQ(pool.handles(), (std::vector<int>{2, 3, 4}));
}

TEST(MuxWaitingPool, AReadableConnectionIsNeverDisplaced) {
  auto pool = pool_of(3, 10);
  pool.admit(1, "10.0.0.1", start);
  pool.admit(2, "10.0.0.2", start + 1ms);
  pool.admit(3, "10.0.0.3", start + 2ms);
  pool.mark_readable(1);
  pool.mark_readable(2);
  EXPECT_EQ(handles_of(pool.admit(4, "10.0.0.4", start + 3ms), mux_refusal::waiting_pool_full), std::vector<int>{3});
  // With every older one readable, the newcomer is the oldest idle one.
  pool.mark_readable(4);
  EXPECT_TRUE(pool.admit(5, "10.0.0.5", start + 4ms).size() == 1);
  EXPECT_EQ(pool.take_readable(), (std::vector<int>{1, 2, 4}));
  EXPECT_EQ(pool.size(), 0u);
}

TEST(MuxWaitingPool, ASourceOverItsCapLosesItsOwnOldestIdleConnection) {
  auto pool = pool_of(100, 2);
  pool.admit(1, "10.0.0.9", start);
  pool.admit(2, "10.0.0.1", start + 1ms);
  pool.admit(3, "10.0.0.1", start + 2ms);
  pool.mark_readable(2);
  EXPECT_EQ(handles_of(pool.admit(4, "10.0.0.1", start + 3ms), mux_refusal::per_source_cap), std::vector<int>{3});
  EXPECT_EQ(pool.from("10.0.0.1"), 2u);
  EXPECT_EQ(pool.from("10.0.0.9"), 1u);
  // Another source's connections are untouched, older as they are.
  EXPECT_EQ(pool.handles(), (std::vector<int>{1, 2, 4}));
}

TEST(MuxWaitingPool, AConnectionSilentPastTheHelloTimeoutExpiresAndAReadableOneDoesNot) {
  auto pool = pool_of(10, 10);
  pool.admit(1, "10.0.0.1", start);
  pool.admit(2, "10.0.0.1", start + 1000ms);
  pool.admit(3, "10.0.0.2", start + 2000ms);
  pool.mark_readable(1);
  EXPECT_EQ(pool.next_expiry(), start + 4000ms);
  EXPECT_TRUE(pool.expire(start + 3999ms).empty());
  EXPECT_EQ(handles_of(pool.expire(start + 5000ms), mux_refusal::hello_timeout), (std::vector<int>{2, 3}));
  EXPECT_FALSE(pool.next_expiry());
  EXPECT_EQ(pool.take_readable(), std::vector<int>{1});
  EXPECT_EQ(pool.from("10.0.0.1"), 0u);
}

TEST(MuxWaitingPool, TakingAllEmptiesThePool) {
  auto pool = pool_of(10, 10);
  pool.admit(7, "10.0.0.1", start);
  pool.admit(8, "10.0.0.2", start);
  EXPECT_EQ(pool.take_all(), (std::vector<int>{7, 8}));
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_EQ(pool.from("10.0.0.1"), 0u);
}

}  // namespace
}  // namespace s2s::actors
