// Tests of host:port parsing: what is an address, what is not and why.
#include <gtest/gtest.h>

#include "config/config.hpp"

namespace s2s::config {
namespace {

TEST(Address, ParsesAnIpv4AddressAndPort) {
  auto parsed = parse_address("127.0.0.1:7233");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->host, "127.0.0.1");
  EXPECT_EQ(parsed->port, 7233);
}

TEST(Address, ParsesAnIpv6AddressInBracketsAndPrintsItWithBrackets) {
  auto parsed = parse_address("[::1]:6233");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->host, "::1");
  EXPECT_EQ(parsed->port, 6233);
  EXPECT_EQ(parsed->to_string(), "[::1]:6233");
  EXPECT_EQ(parse_address("[::]:9090")->host, "::");
}

TEST(Address, ParsesAHostName) {
  auto parsed = parse_address("frontend-ingress.temporal.svc.cluster.local:7233");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->host, "frontend-ingress.temporal.svc.cluster.local");
  EXPECT_EQ(parsed->to_string(), "frontend-ingress.temporal.svc.cluster.local:7233");
  EXPECT_TRUE(parse_address("localhost:6060"));
}

TEST(Address, ReadsAnEmptyHostAsAllInterfacesAsGoDoes) {
  auto parsed = parse_address(":6060");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->host, "0.0.0.0");
  EXPECT_EQ(parsed->port, 6060);
}

TEST(Address, RejectsAMissingPort) {
  EXPECT_FALSE(parse_address("127.0.0.1"));
  EXPECT_EQ(address_problem("127.0.0.1"), "the port is missing");
  EXPECT_EQ(address_problem("proxy.example:"), "the port is missing");
  EXPECT_EQ(address_problem("[::1]"), "the port is missing after ']'");
}

TEST(Address, RejectsAPortThatIsNotANumberOrTooLarge) {
  EXPECT_FALSE(parse_address("127.0.0.1:http"));
  EXPECT_EQ(address_problem("127.0.0.1:http"), "the port 'http' is not a number");
  EXPECT_EQ(address_problem("127.0.0.1:-1"), "the port '-1' is not a number");
  EXPECT_EQ(address_problem("127.0.0.1:65536"), "the port 65536 is above 65535");
  EXPECT_EQ(address_problem("127.0.0.1:99999999999999999999"), "the port 99999999999999999999 is above 65535");
  EXPECT_TRUE(parse_address("127.0.0.1:65535"));
}

TEST(Address, RejectsAnIpv6AddressWithoutBrackets) {
  EXPECT_FALSE(parse_address("::1:7233"));
  EXPECT_EQ(address_problem("::1:7233"), "an IPv6 address needs brackets, as in [::1]:7233");
}

TEST(Address, RejectsMalformedHosts) {
  EXPECT_EQ(address_problem("[::g]:1"), "'::g' is not an IPv6 address");
  EXPECT_EQ(address_problem("[::1:1"), "the ']' closing the IPv6 address is missing");
  EXPECT_EQ(address_problem("999.0.0.1:1"), "'999.0.0.1' is not an IPv4 address");
  EXPECT_EQ(address_problem("proxy b:1"), "the host name 'proxy b' contains ' ', which a host name cannot contain");
  EXPECT_EQ(address_problem("a..b:1"), "the host name 'a..b' has an empty label");
  EXPECT_EQ(address_problem(""), "it is empty");
}

}  // namespace
}  // namespace s2s::config
