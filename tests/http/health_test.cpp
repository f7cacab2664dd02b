// The /health endpoint follows the real reachability of the side it reports on.
#include <thread>

#include <gtest/gtest.h>

#include "health/health_endpoint.hpp"
#include "http/http_client.hpp"
#include "support/echo_server.hpp"

namespace s2s::testing {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<http::server> serve(std::shared_ptr<health::readiness> side) {
  auto started = health::serve_health({"127.0.0.1", 0}, std::move(side), "health test");
  if (auto* problem = std::get_if<std::string>(&started))
    ADD_FAILURE() << *problem;
  return std::move(std::get<std::unique_ptr<http::server>>(started));
}

// Polls /health until it answers `status`, within a bound; returns the last reply.
std::optional<http_reply> wait_for_status(int port, int status, std::chrono::seconds bound = 15s) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  std::optional<http_reply> reply;
  do {
    reply = http_get(port, "/health");
    if (reply && reply->status == status)
      return reply;
    std::this_thread::sleep_for(50ms);
  } while (std::chrono::steady_clock::now() < deadline);
  return reply;
}

config::endpoint loopback_endpoint(int port) {
  config::endpoint endpoint;
  endpoint.addr = {"127.0.0.1", static_cast<std::uint16_t>(port)};
  return endpoint;
}

TEST(Health, FollowsTheFrontendAsItStopsAndStartsAgain) {
  auto frontend = std::make_unique<echo_server>();
  int frontend_port = frontend->port();
  auto server = serve(health::channel_readiness(loopback_endpoint(frontend_port), "the local frontend"));

  auto up = wait_for_status(server->port(), 200);
  ASSERT_TRUE(up);
  ASSERT_EQ(up->status, 200);
  EXPECT_EQ(up->body, "OK\n");

  frontend.reset();
  auto down = wait_for_status(server->port(), 503);
  ASSERT_TRUE(down);
  ASSERT_EQ(down->status, 503);
  EXPECT_NE(down->body.find("cannot reach the local frontend at 127.0.0.1:" + std::to_string(frontend_port)),
            std::string::npos)
      << down->body;

  echo_server_options same_port;
  same_port.port = frontend_port;
  frontend = std::make_unique<echo_server>(same_port);
  auto again = wait_for_status(server->port(), 200);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

TEST(Health, ANeverStartedTargetIsUnhealthyWithinItsPatience) {
  // A port that was free a moment ago: nothing listens there.
  auto gone = std::make_unique<echo_server>();
  int port = gone->port();
  gone.reset();
  auto side = health::channel_readiness(loopback_endpoint(port), "the remote side", 300ms);
  auto verdict = side->check();
  EXPECT_FALSE(verdict.ready);
  EXPECT_NE(verdict.reason.find("the remote side at 127.0.0.1:" + std::to_string(port)), std::string::npos);
}

TEST(Health, ReportsWhatAReadinessCallbackSays) {
  std::atomic<bool> ready = false;
  auto server = serve(health::readiness_from([&] {
    return health::readiness::verdict{ready.load(), ready ? "" : "no live mux session"};
  }));
  auto before = http_get(server->port(), "/health");
  ASSERT_TRUE(before);
  EXPECT_EQ(before->status, 503);
  EXPECT_EQ(before->body, "not ready: no live mux session\n");
  ready = true;
  auto after = http_get(server->port(), "/health");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
  auto elsewhere = http_get(server->port(), "/");
  ASSERT_TRUE(elsewhere);
  EXPECT_EQ(elsewhere->status, 404);
}

}  // namespace
}  // namespace s2s::testing
