// The s2s-proxy binary under a service manager's eye: what it sends to NOTIFY_SOCKET when it is
// ready, reloading and stopping, watchdog pings that stop when its actor system hangs, and the
// systemd unit of config/systemd as systemd-analyze reads it.
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/echo_client.hpp"
#include "support/echo_server.hpp"
#include "support/files.hpp"
#include "support/notify_socket.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/proxy_config.hpp"
#include "support/temp_dir.hpp"

namespace s2s::testing {
namespace {

using namespace std::chrono_literals;

std::size_t count_of(const std::vector<std::string>& messages, const std::string& message) {
  return static_cast<std::size_t>(std::count(messages.begin(), messages.end(), message));
}

std::uint64_t monotonic_microseconds() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1000000 + static_cast<std::uint64_t>(now.tv_nsec) / 1000;
}

class ServiceManager : public ::testing::Test {
 protected:
  echo_server remote;
  temp_dir scratch;
  int outbound = free_loopback_port();
  notify_socket manager{scratch / "notify"};

  // The proxy in TCP mode with the notify socket, and `environment` on top.
  std::unique_ptr<process> start(std::vector<std::pair<std::string, std::string>> environment = {},
                                 std::vector<std::string> extra_arguments = {}) {
    auto config = scratch / "proxy.yaml";
    write_file(config, tcp_proxy_yaml("notified", outbound, "127.0.0.1:" + std::to_string(remote.port())));
    environment.emplace_back("NOTIFY_SOCKET", manager.path().string());
    std::vector<std::string> arguments{S2S_PROXY_BINARY, "start", "--config", config.string()};
    arguments.insert(arguments.end(), extra_arguments.begin(), extra_arguments.end());
    return std::make_unique<process>(process_options{arguments, environment, scratch / "proxy.log", {}});
  }

  // True when a call through the outbound listener reaches the remote echo server.
  bool calls_pass() {
    auto stub = v1::EchoService::NewStub(make_channel("127.0.0.1:" + std::to_string(outbound)));
    v1::EchoRequest request;
    request.set_payload("ready?");
    auto result = call_unary(*stub, request);
    return result.status.ok() && result.responses.size() == 1 && result.responses[0].payload() == "ready?";
  }
};

TEST_F(ServiceManager, ReadyIsTheFirstNotificationAndComesOnceTheListenersServe) {
  auto proxy = start();
  auto seen = manager.until("READY=1", 30s);
  ASSERT_FALSE(seen.empty()) << proxy->output();
  EXPECT_EQ(seen, std::vector<std::string>{"READY=1"}) << proxy->output();
  // The listener was bound before READY=1 was sent, so the call needs no retry.
  EXPECT_TRUE(calls_pass()) << proxy->output();
  EXPECT_NE(proxy->output().find("proxy: ready"), std::string::npos) << proxy->output();
  // Without WATCHDOG_USEC the service manager asked for no pings.
  EXPECT_EQ(count_of(manager.during(1500ms), "WATCHDOG=1"), 0u) << proxy->output();
  EXPECT_EQ(proxy->stop(), 0) << proxy->output();
}

TEST_F(ServiceManager, WatchdogPingsComeEveryHalfTimeoutAndStopWhenTheActorSystemHangs) {
  // A one-second watchdog: a ping every 500 ms, each after the supervisor answered within 250 ms.
  auto proxy = start({{"WATCHDOG_USEC", "1000000"}, {"S2S_TEST_HOOK_HANG_ON_SIGUSR1", "1"}});
  ASSERT_EQ(manager.until("READY=1", 30s).back(), "READY=1") << proxy->output();
  auto alive = manager.during(3000ms);
  EXPECT_GE(count_of(alive, "WATCHDOG=1"), 4u) << proxy->output();
  EXPECT_LE(count_of(alive, "WATCHDOG=1"), 8u) << proxy->output();

  proxy->send_signal(SIGUSR1);
  ASSERT_TRUE(proxy->wait_for_output("test hook: blocking", 5s)) << proxy->output();
  // A round trip under way when the supervisor blocked may still end in one last ping.
  EXPECT_LE(count_of(manager.during(1000ms), "WATCHDOG=1"), 1u) << proxy->output();
  EXPECT_EQ(count_of(manager.during(3000ms), "WATCHDOG=1"), 0u) << proxy->output();
  EXPECT_TRUE(proxy->running()) << "wedged, not dead: the service manager is the one to end it";
  EXPECT_NE(proxy->output().find("watchdog: the supervisor did not answer within 250 ms"), std::string::npos)
      << proxy->output();
  proxy->send_signal(SIGKILL);
  proxy->wait_exit(10s);
}

TEST_F(ServiceManager, AStopWhoseActorsCannotEndExitsNonZeroAndNamesThem) {
  // The supervisor blocks for good: the stop's request to it times out (10 s with no drain), the
  // actors get their bound to end (5 s), and the process exits instead of waiting for them.
  auto proxy = start({{"S2S_TEST_HOOK_HANG_ON_SIGUSR1", "1"}}, {"--drain", "0"});
  ASSERT_EQ(manager.until("READY=1", 30s).back(), "READY=1") << proxy->output();
  proxy->send_signal(SIGUSR1);
  ASSERT_TRUE(proxy->wait_for_output("test hook: blocking", 5s)) << proxy->output();
  proxy->send_signal(SIGTERM);
  auto code = proxy->wait_exit(40s);
  ASSERT_TRUE(code.has_value()) << "the stop hung:\n" << proxy->output();
  EXPECT_EQ(*code, 1) << proxy->output();
  EXPECT_NE(proxy->output().find("proxy: stop failed"), std::string::npos) << proxy->output();
  EXPECT_NE(proxy->output().find("ms after the stop: 1 supervisor"), std::string::npos) << proxy->output();
  EXPECT_NE(proxy->output().find("; exiting without them"), std::string::npos) << proxy->output();
}

TEST_F(ServiceManager, SighupIsFramedByReloadingWithTheMonotonicClockAndReady) {
  auto proxy = start();
  ASSERT_EQ(manager.until("READY=1", 30s).back(), "READY=1") << proxy->output();
  auto before = monotonic_microseconds();
  proxy->send_signal(SIGHUP);
  auto reloading = manager.until("RELOADING=1", 10s);
  auto after = monotonic_microseconds();
  ASSERT_FALSE(reloading.empty()) << proxy->output();
  const std::string prefix = "RELOADING=1\nMONOTONIC_USEC=";
  ASSERT_TRUE(reloading.back().starts_with(prefix)) << reloading.back();
  auto stamp = std::stoull(reloading.back().substr(prefix.size()));
  EXPECT_GE(stamp, before);
  EXPECT_LE(stamp, after);
  EXPECT_EQ(manager.until("READY=1", 10s), std::vector<std::string>{"READY=1"}) << proxy->output();
  EXPECT_TRUE(calls_pass()) << proxy->output();
  EXPECT_EQ(proxy->stop(), 0) << proxy->output();
}

TEST_F(ServiceManager, SigtermSendsStoppingBeforeTheDrainAndExitsZero) {
  auto proxy = start();
  ASSERT_EQ(manager.until("READY=1", 30s).back(), "READY=1") << proxy->output();
  proxy->send_signal(SIGTERM);
  EXPECT_EQ(manager.until("STOPPING=1", 10s), std::vector<std::string>{"STOPPING=1"}) << proxy->output();
  EXPECT_EQ(proxy->wait_exit(30s), 0) << proxy->output();
}

// systemd-analyze checks that every Exec command exists, so the unit is verified with the binary
// just built in place of /usr/local/bin/s2s-proxy; everything else is the file as shipped.
TEST(SystemdUnit, SystemdAnalyzeVerifiesItWithoutAWord) {
  if (::system("command -v systemd-analyze >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "systemd-analyze is not installed (Debian package systemd; scripts/setup.sh installs it)";
  temp_dir scratch;
  auto unit = read_file(std::filesystem::path(S2S_SOURCE_DIR) / "config/systemd/s2s-proxy.service");
  const std::string installed = "/usr/local/bin/s2s-proxy";
  ASSERT_NE(unit.find("ExecStart=" + installed + " start"), std::string::npos) << unit;
  for (auto at = unit.find(installed); at != std::string::npos; at = unit.find(installed, at))
    unit.replace(at, installed.size(), S2S_PROXY_BINARY);
  auto path = scratch / "s2s-proxy.service";
  write_file(path, unit);
  process verify({{"systemd-analyze", "verify", path.string()}, {}, scratch / "verify.log", {}});
  auto exit_code = verify.wait_exit(60s);
  ASSERT_TRUE(exit_code) << verify.output();
  // Unknown keys and bad values are warnings that leave the exit code 0; none may name the unit.
  EXPECT_EQ(verify.output().find("s2s-proxy.service"), std::string::npos) << verify.output();
  EXPECT_EQ(*exit_code, 0) << verify.output();
}

}  // namespace
}  // namespace s2s::testing
