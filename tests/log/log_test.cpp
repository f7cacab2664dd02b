// The logger: levels per component, one event per line, throttling and the dropped-lines report.
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "log/log.hpp"
#include "metrics/log_metrics.hpp"

namespace s2s::log {
namespace {

using namespace std::chrono_literals;

// Captures every line and drives the throttle's clock by hand.
class Logging : public ::testing::Test {
 protected:
  std::vector<std::string> lines;
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::time_point{} + 1000h;

  void SetUp() override {
    set_output([this](std::string_view line) { lines.emplace_back(line); });
    set_clock([this] { return now; });
  }
  void TearDown() override {
    configure({});
    set_output({});
    set_clock({});
  }

  std::size_t count_containing(std::string_view text) const {
    std::size_t found = 0;
    for (const auto& line : lines)
      found += line.find(text) != std::string::npos;
    return found;
  }
};

TEST(TokenBucket, AllowsABurstOfTheRateThenRefillsContinuously) {
  token_bucket bucket(5);
  auto start = std::chrono::steady_clock::time_point{} + 1h;
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(bucket.take(start)) << i;
  EXPECT_FALSE(bucket.take(start));
  EXPECT_FALSE(bucket.take(start + 100ms));  // half a token
  EXPECT_TRUE(bucket.take(start + 200ms));
  EXPECT_FALSE(bucket.take(start + 200ms));
  // A long quiet spell refills to the burst, no further.
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(bucket.take(start + 1h)) << i;
  EXPECT_FALSE(bucket.take(start + 1h));
}

TEST(TokenBucket, RateZeroMeansNoLimit) {
  token_bucket bucket(0);
  for (int i = 0; i < 10000; ++i)
    ASSERT_TRUE(bucket.take({}));
}

TEST_F(Logging, LinesBeyondTheRateAreDroppedCountedAndReportedOnce) {
  configure({level::info, false, 10});
  for (int i = 0; i < 1000; ++i)
    info("chatty", "event " + std::to_string(i));
  EXPECT_EQ(lines.size(), 10u);
  EXPECT_EQ(count_containing("chatty: event 9"), 1u);
  EXPECT_EQ(count_containing("chatty: event 10"), 0u);
  EXPECT_EQ(dropped_lines()["chatty"], 990u);

  // Within the second nothing reports; then the count comes with the next line written.
  now += 500ms;
  info("chatty", "half a second later");  // 5 tokens back
  EXPECT_EQ(count_containing("dropped"), 0u);
  now += 500ms;
  info("chatty", "a second later");  // 9 tokens back, capped at 10
  ASSERT_EQ(count_containing("dropped"), 1u);
  EXPECT_EQ(count_containing("WARN log: 990 lines dropped by throttleMaxRPS (chatty: 990)"), 1u)
      << lines[lines.size() - 2];
  EXPECT_NE(lines.back().find("chatty: a second later"), std::string::npos);

  // At most one report a second: drops in the meantime wait for the next one.
  for (int i = 0; i < 100; ++i)
    info("chatty", "burst");  // 8 tokens were left
  now += 300ms;               // 3 more
  info("chatty", "still within the second");
  EXPECT_EQ(count_containing("dropped"), 1u);
  now += 800ms;
  info("chatty", "after the second");
  EXPECT_EQ(count_containing("92 lines dropped by throttleMaxRPS (chatty: 92)"), 1u) << lines[lines.size() - 2];
  EXPECT_EQ(dropped_lines()["chatty"], 1082u);

  // Reported once: later lines do not repeat a count.
  now += 2s;
  info("chatty", "later");
  EXPECT_EQ(count_containing("dropped"), 2u);
}

TEST_F(Logging, EachComponentHasItsOwnBudgetAndTheReportNamesThem) {
  configure({level::info, false, 2}, {{"bulk", {level::info, false, 1}}});
  for (int i = 0; i < 10; ++i) {
    info("bulk", "b");
    info("other", "o");
  }
  EXPECT_EQ(count_containing("bulk: b"), 1u);
  EXPECT_EQ(count_containing("other: o"), 2u);
  report_dropped_lines();
  EXPECT_EQ(count_containing("17 lines dropped by throttleMaxRPS (bulk: 9, other: 8)"), 1u) << lines.back();
}

TEST_F(Logging, NumberedSessionsOfOneComponentShareItsBudget) {
  configure({level::info, false, 50});
  // A thousand sessions, each failing once within the same second: one budget of 50 lines.
  for (int session = 1; session <= 1000; ++session)
    error("cli mux session " + std::to_string(session), "cannot connect to 127.0.0.1:1: Connection refused");
  EXPECT_EQ(count_containing("Connection refused"), 50u);
  EXPECT_EQ(count_containing("cli mux session 50: cannot connect"), 1u) << "lines keep their full component";
  EXPECT_EQ(count_containing("cli mux session 51: cannot connect"), 0u);
  report_dropped_lines();
  EXPECT_EQ(count_containing("950 lines dropped by throttleMaxRPS (cli mux session: 950)"), 1u) << lines.back();
  auto dropped = dropped_lines();
  EXPECT_EQ(dropped["cli mux session"], 950u);
  EXPECT_EQ(dropped.count("cli mux session 51"), 0u) << "one entry per component, not per session";
  // A number inside a word is part of the name: these are two components.
  info("cluster2 outbound", "x");
  info("cluster3 outbound", "y");
  EXPECT_EQ(count_containing("cluster2 outbound: x"), 1u);
  EXPECT_EQ(count_containing("cluster3 outbound: y"), 1u);
}

TEST_F(Logging, DroppedLinesReachTheMetric) {
  configure({level::info, false, 1});
  for (int i = 0; i < 25; ++i)
    warn("metered", "again");
  prometheus::Registry registry;
  metrics::log_metrics metrics(registry);
  metrics.refresh();
  EXPECT_EQ(metrics.lines_dropped.Add({{"component", "metered"}}).Value(), 24);
  metrics.refresh();  // refreshing twice does not count twice
  EXPECT_EQ(metrics.lines_dropped.Add({{"component", "metered"}}).Value(), 24);
}

TEST_F(Logging, LevelsAreSetPerComponentAndCoverSubcomponents) {
  configure({level::info, false, 0}, {{"a-to-b", {level::debug, false, 0}},
                                      {"a-to-b mux", {level::error, false, 0}},
                                      {"muted", {level::debug, true, 0}}});
  EXPECT_TRUE(enabled(level::debug));
  debug("proxy", "default drops debug");
  info("proxy", "default writes info");
  debug("a-to-b outbound", "override writes debug");
  warn("a-to-b mux session 1", "longest override drops warn");
  error("a-to-b mux session 1", "longest override writes error");
  error("muted", "disabled writes nothing");
  debug("a-to-bx", "a name that only starts the same is not covered");
  EXPECT_EQ(count_containing("default drops debug"), 0u);
  EXPECT_EQ(count_containing("default writes info"), 1u);
  EXPECT_EQ(count_containing("override writes debug"), 1u);
  EXPECT_EQ(count_containing("longest override drops warn"), 0u);
  EXPECT_EQ(count_containing("longest override writes error"), 1u);
  EXPECT_EQ(count_containing("disabled writes nothing"), 0u);
  EXPECT_EQ(count_containing("not covered"), 0u);
}

TEST_F(Logging, AMessageWithLineBreaksStaysOneLine) {
  configure({});
  error("proxy", "cannot start:\nfirst problem\r\nsecond problem");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].find('\n'), std::string::npos);
  EXPECT_NE(lines[0].find(" ERROR proxy: cannot start: first problem  second problem"), std::string::npos) << lines[0];
}

TEST_F(Logging, SetLevelChangesTheDefault) {
  configure({});
  set_level(level::debug);
  debug("proxy", "now visible");
  EXPECT_EQ(count_containing("DEBUG proxy: now visible"), 1u);
}

}  // namespace
}  // namespace s2s::log
