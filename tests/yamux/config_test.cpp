// The yamux config: its defaults and what verify() refuses.
#include "yamux/config.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "yamux/session.hpp"

namespace s2s::yamux {
namespace {

using namespace std::chrono_literals;

TEST(YamuxConfig, DefaultsMatchHashicorpYamux) {
  const config cfg;
  EXPECT_EQ(cfg.accept_backlog, 256u);
  EXPECT_TRUE(cfg.enable_keepalive);
  EXPECT_EQ(cfg.keepalive_interval, 30s);
  EXPECT_EQ(cfg.connection_write_timeout, 10s);
  EXPECT_EQ(cfg.max_stream_window, 256u * 1024);
  EXPECT_EQ(cfg.stream_open_timeout, 75s);
  EXPECT_EQ(cfg.stream_close_timeout, 5min);
  EXPECT_FALSE(verify(cfg));
}

TEST(YamuxConfig, RejectsEmptyBacklog) {
  config cfg;
  cfg.accept_backlog = 0;
  EXPECT_EQ(verify(cfg), "yamux accept_backlog must be positive");
}

TEST(YamuxConfig, RejectsNonPositiveKeepaliveInterval) {
  config cfg;
  cfg.keepalive_interval = 0ms;
  EXPECT_EQ(verify(cfg), "yamux keepalive_interval must be positive");
}

TEST(YamuxConfig, RejectsNonPositiveWriteTimeout) {
  config cfg;
  cfg.connection_write_timeout = -1ms;
  EXPECT_EQ(verify(cfg), "yamux connection_write_timeout must be positive");
}

TEST(YamuxConfig, RejectsWindowBelowTheProtocolsInitialWindow) {
  config cfg;
  cfg.max_stream_window = 1000;
  EXPECT_EQ(verify(cfg), "yamux max_stream_window must be at least 262144 bytes, got 1000");
}

TEST(YamuxConfig, ZeroStreamTimeoutsDisableThemButNegativeOnesAreRefused) {
  config cfg;
  cfg.stream_open_timeout = 0ms;
  cfg.stream_close_timeout = 0ms;
  EXPECT_FALSE(verify(cfg));
  cfg.stream_close_timeout = -5ms;
  EXPECT_EQ(verify(cfg), "yamux stream_close_timeout must not be negative");
}

TEST(YamuxConfig, SessionRefusesAConfigThatFailsVerify) {
  config cfg;
  cfg.accept_backlog = 0;
  EXPECT_THROW(session(role::client, cfg, clock::time_point{}), std::invalid_argument);
}

}  // namespace
}  // namespace s2s::yamux
