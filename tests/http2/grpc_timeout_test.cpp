// grpc-timeout: every unit parses, malformed values are refused, formatting keeps the deadline.
#include "http2/grpc_timeout.hpp"

#include <gtest/gtest.h>

namespace s2s::http2 {
namespace {

using namespace std::chrono_literals;

TEST(GrpcTimeout, ParsesEveryUnit) {
  EXPECT_EQ(parse_timeout("2H"), 2h);
  EXPECT_EQ(parse_timeout("3M"), 3min);
  EXPECT_EQ(parse_timeout("10S"), 10s);
  EXPECT_EQ(parse_timeout("250m"), 250ms);
  EXPECT_EQ(parse_timeout("7u"), 7us);
  EXPECT_EQ(parse_timeout("99999999n"), 99999999ns);
  EXPECT_EQ(parse_timeout("0m"), 0ms);
}

TEST(GrpcTimeout, RefusesMalformedValues) {
  for (const char* bad : {"", "S", "10", "10s", "10x", "123456789S", "-1S", "1 S", "1.5S", "+1S"}) {
    EXPECT_FALSE(parse_timeout(bad).has_value()) << bad;
  }
}

TEST(GrpcTimeout, SaturatesWhatNanosecondsCannotHold) {
  EXPECT_EQ(parse_timeout("99999999H"), std::chrono::nanoseconds::max());
}

TEST(GrpcTimeout, FormatsInTheFinestUnitThatFitsEightDigits) {
  EXPECT_EQ(format_timeout(1500ns), "1500n");
  EXPECT_EQ(format_timeout(99999999ns), "99999999n");
  EXPECT_EQ(format_timeout(100000000ns), "100000u");
  EXPECT_EQ(format_timeout(30s), "30000000u");
  EXPECT_EQ(format_timeout(1000s), "1000000m");
  EXPECT_EQ(format_timeout(48h), "172800S");
  EXPECT_EQ(format_timeout(std::chrono::nanoseconds::max()), "2562048H");
}

TEST(GrpcTimeout, RoundsUpSoTheDeadlineIsNeverShortened) {
  EXPECT_EQ(format_timeout(100000001ns), "100001u");
  EXPECT_GE(*parse_timeout(format_timeout(123456789012ns)), 123456789012ns);
}

TEST(GrpcTimeout, APassedDeadlineFormatsAsOneNanosecond) {
  EXPECT_EQ(format_timeout(0ns), "1n");
  EXPECT_EQ(format_timeout(-5s), "1n");
}

}  // namespace
}  // namespace s2s::http2
