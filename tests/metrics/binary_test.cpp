// The s2s-proxy binary serves /metrics, /health and /debug/connections from its config, SIGHUP
// applies the config's logging settings without stopping it, and SIGTERM drains calls in flight.
#include <signal.h>

#include <atomic>
#include <iostream>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "http/http_client.hpp"
#include "rpc/limits.hpp"
#include "support/echo_client.hpp"
#include "support/echo_server.hpp"
#include "support/files.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/proxy_config.hpp"
#include "support/temp_dir.hpp"

namespace s2s::testing {
namespace {

using namespace std::chrono_literals;

struct ports {
  int outbound = free_loopback_port();
  int metrics = free_loopback_port();
  int local_health = free_loopback_port();
  int remote_health = free_loopback_port();
  int debug = free_loopback_port();
  int nothing = free_loopback_port();  // the remote side: nothing listens there
};

std::string config_text(const ports& at, int frontend, const std::string& logging) {
  auto address = [](int port) { return "\"127.0.0.1:" + std::to_string(port) + "\""; };
  return "clusterConnections:\n"
         "  - name: ops\n"
         "    local:\n"
         "      connectionType: tcp\n"
         "      tcpClient: { address: " +
         address(frontend) +
         " }\n"
         "      tcpServer: { address: " +
         address(at.outbound) +
         " }\n"
         "    remote:\n"
         "      connectionType: tcp\n"
         "      tcpClient: { address: " +
         address(at.nothing) +
         " }\n"
         "      tcpServer: { address: " +
         address(free_loopback_port()) +
         " }\n"
         "    localClusterHealthCheck: { protocol: http, listenAddress: " +
         address(at.local_health) +
         " }\n"
         "    remoteClusterHealthCheck: { protocol: http, listenAddress: " +
         address(at.remote_health) +
         " }\n"
         "metrics:\n  prometheus:\n    listenAddress: " +
         address(at.metrics) +
         "\n"
         "profiling:\n  pprofAddress: " +
         address(at.debug) + "\n" + logging;
}

TEST(Binary, ServesTheOperatorEndpointsOfItsConfig) {
  echo_server frontend;
  temp_dir scratch;
  ports at;
  auto config = scratch / "proxy.yaml";
  write_file(config, config_text(at, frontend.port(), ""));
  process proxy({{S2S_PROXY_BINARY, "start", "--config", config.string()}, {}, scratch / "proxy.log", {}});
  ASSERT_TRUE(proxy.wait_for_output("ready", 30s)) << proxy.output();

  auto metrics = http_get(at.metrics, "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("s2s_proxy_actors_live{kind=\"listener\"} 2"), std::string::npos) << metrics->body;

  auto local = http_get(at.local_health, "/health");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->status, 200) << local->body;
  auto remote = http_get(at.remote_health, "/health");
  ASSERT_TRUE(remote);
  EXPECT_EQ(remote->status, 503);
  EXPECT_NE(remote->body.find("the remote side at 127.0.0.1:" + std::to_string(at.nothing)), std::string::npos);

  auto debug = http_get(at.debug, "/debug/connections");
  ASSERT_TRUE(debug);
  EXPECT_EQ(debug->status, 200);
  EXPECT_NE(debug->body.find("\"name\": \"ops outbound\""), std::string::npos) << debug->body;

  EXPECT_EQ(proxy.stop(), 0) << proxy.output();
}

TEST(Binary, SighupAppliesNewLoggingSettingsAndSurvivesABrokenFile) {
  echo_server frontend;
  temp_dir scratch;
  ports at;
  auto config = scratch / "proxy.yaml";
  write_file(config, config_text(at, frontend.port(), ""));
  process proxy({{S2S_PROXY_BINARY, "start", "--config", config.string()}, {}, scratch / "proxy.log", {}});
  ASSERT_TRUE(proxy.wait_for_output("ready", 30s)) << proxy.output();

  write_file(config, "clusterConnections: [\n");
  proxy.send_signal(SIGHUP);
  ASSERT_TRUE(proxy.wait_for_output("not reloaded", 10s)) << proxy.output();
  EXPECT_TRUE(proxy.running());

  // From warn on, the info lines of stopping are no longer written.
  write_file(config, config_text(at, frontend.port(), "logging:\n  level: warn\n"));
  proxy.send_signal(SIGHUP);
  ASSERT_TRUE(proxy.wait_for_output("SIGHUP: applying the logging settings", 10s)) << proxy.output();
  auto metrics = http_get(at.metrics, "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(proxy.stop(), 0);
  EXPECT_EQ(proxy.output().find("stopping"), std::string::npos) << proxy.output();
}

// A unary call through the proxy that the remote frontend answers after `delay`, on a thread of its own.
class slow_call {
 public:
  slow_call(int outbound_port, std::chrono::milliseconds delay)
      : stub_(v1::EchoService::NewStub(make_channel("127.0.0.1:" + std::to_string(outbound_port)))) {
    v1::EchoRequest request;
    request.set_payload("slow");
    request.set_delay_ms(static_cast<std::uint32_t>(delay.count()));
    thread_ = std::thread([this, request] { result_ = call_unary(*stub_, request, {.timeout = 60s}); });
  }
  ~slow_call() {
    if (thread_.joinable())
      thread_.join();
  }
  call_result result() {
    thread_.join();
    return result_;
  }

 private:
  std::unique_ptr<v1::EchoService::Stub> stub_;
  std::thread thread_;
  call_result result_;
};

class Drain : public ::testing::Test {
 protected:
  echo_server remote;
  temp_dir scratch;
  int outbound = free_loopback_port();

  std::unique_ptr<process> start(std::vector<std::string> extra = {}) {
    auto config = scratch / "proxy.yaml";
    write_file(config, tcp_proxy_yaml("drain", outbound, "127.0.0.1:" + std::to_string(remote.port())));
    std::vector<std::string> argv{S2S_PROXY_BINARY, "start", "--config", config.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto proxy = std::make_unique<process>(process_options{argv, {}, scratch / "proxy.log", {}});
    EXPECT_TRUE(proxy->wait_for_output("ready", 30s)) << proxy->output();
    return proxy;
  }
};

TEST_F(Drain, SigtermLetsASlowUnaryCallInFlightCompleteAndExitsZero) {
  auto proxy = start();
  slow_call call(outbound, 1500ms);
  ASSERT_TRUE(remote.calls().wait_for_in_flight(1, 10s));
  proxy->send_signal(SIGTERM);
  auto result = call.result();
  ASSERT_TRUE(result.status.ok()) << result.status.error_message() << "\n" << proxy->output();
  ASSERT_EQ(result.responses.size(), 1u);
  EXPECT_EQ(result.responses[0].payload(), "slow");
  EXPECT_EQ(proxy->wait_exit(30s), 0) << proxy->output();
  EXPECT_NE(proxy->output().find("stopped"), std::string::npos) << proxy->output();
}

TEST_F(Drain, ACallOutlastingTheDrainBoundIsCancelledAndTheProxyStillExitsZero) {
  auto proxy = start({"--drain", "0.2"});
  slow_call call(outbound, 20s);
  ASSERT_TRUE(remote.calls().wait_for_in_flight(1, 10s));
  proxy->send_signal(SIGTERM);
  // The proxy exits while the frontend still holds the call: the bound, not the call, ended it.
  EXPECT_EQ(proxy->wait_exit(15s), 0) << proxy->output();
  auto result = call.result();
  EXPECT_FALSE(result.status.ok());
  EXPECT_TRUE(result.responses.empty());
}

TEST_F(Drain, SigtermEndsAnOpenStreamWithUnavailableAtOnceWhileAUnaryCallFinishes) {
  // A bound far longer than the test waits: only ending the stream lets the proxy exit in time.
  auto proxy = start({"--drain", "120"});
  auto stub = v1::EchoService::NewStub(make_channel("127.0.0.1:" + std::to_string(outbound)));
  grpc::ClientContext context;
  auto stream = stub->Bidi(&context);
  v1::EchoRequest hello;
  hello.set_payload("open");
  v1::EchoResponse echoed;
  ASSERT_TRUE(stream->Write(hello) && stream->Read(&echoed)) << proxy->output();
  slow_call call(outbound, 1500ms);
  ASSERT_TRUE(remote.calls().wait_for_in_flight(2, 10s));  // the stream and the slow call
  proxy->send_signal(SIGTERM);
  // The stream ends without the caller closing it, with a status that says to call again.
  while (stream->Read(&echoed)) {
  }
  auto status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(status.error_message(), "s2s-proxy is shutting down; call again");
  auto result = call.result();
  ASSERT_TRUE(result.status.ok()) << result.status.error_message() << "\n" << proxy->output();
  EXPECT_EQ(result.responses.size(), 1u);
  EXPECT_EQ(proxy->wait_exit(60s), 0) << proxy->output();
}

// A mux side of a proxy binary: `type` mux-client or mux-server, with the mux port given.
std::string mux_proxy_yaml(const std::string& name, const std::string& type, int mux_port) {
  auto address = [](int port) { return "\"127.0.0.1:" + std::to_string(port) + "\""; };
  return "clusterConnections:\n"
         "  - name: " +
         name +
         "\n"
         "    local:\n"
         "      connectionType: tcp\n"
         "      tcpClient: { address: " +
         address(free_loopback_port()) +
         " }\n"
         "      tcpServer: { address: " +
         address(free_loopback_port()) +
         " }\n"
         "    remote:\n"
         "      connectionType: " +
         type +
         "\n"
         "      muxCount: 2\n"
         "      muxAddressInfo: { address: " +
         address(mux_port) + " }\n";
}

// SIGTERM to a proxy with nothing in flight: the time until it exited, or nothing after 30 s.
std::optional<std::chrono::milliseconds> idle_stop(process& proxy) {
  auto start = std::chrono::steady_clock::now();
  proxy.send_signal(SIGTERM);
  auto code = proxy.wait_exit(30s);
  if (!code || *code != 0)
    return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

TEST_F(Drain, AnIdleProxyExitsWithinASecondAndAHalfInEveryMode) {
  // The default drain bound (10 s) stands: only what is in flight may hold the exit.
  constexpr auto bound = 1500ms;
  auto tcp = start();
  auto tcp_took = idle_stop(*tcp);
  ASSERT_TRUE(tcp_took) << tcp->output();
  EXPECT_LE(*tcp_took, bound) << tcp->output();

  // Both orders: the side stopped first still has its sessions up.
  for (bool client_first : {true, false}) {
    int mux_port = free_loopback_port();
    auto server_config = scratch / "server.yaml";
    auto client_config = scratch / "client.yaml";
    write_file(server_config, mux_proxy_yaml("srv", "mux-server", mux_port));
    write_file(client_config, mux_proxy_yaml("cli", "mux-client", mux_port));
    auto suffix = client_first ? std::string("-1") : std::string("-2");
    process server({{S2S_PROXY_BINARY, "start", "--config", server_config.string()},
                    {},
                    scratch / ("server" + suffix + ".log"),
                    {}});
    ASSERT_TRUE(server.wait_for_output("ready", 30s)) << server.output();
    process client({{S2S_PROXY_BINARY, "start", "--config", client_config.string()},
                    {},
                    scratch / ("client" + suffix + ".log"),
                    {}});
    ASSERT_TRUE(client.wait_for_output("cli mux session 2: session with", 30s)) << client.output();
    auto& first = client_first ? client : server;
    auto& second = client_first ? server : client;
    auto first_took = idle_stop(first);
    auto second_took = idle_stop(second);
    ASSERT_TRUE(first_took && second_took) << server.output() << client.output();
    EXPECT_LE(*first_took, bound) << (client_first ? "mux-client" : "mux-server") << "\n" << first.output();
    EXPECT_LE(*second_took, bound) << (client_first ? "mux-server" : "mux-client") << "\n" << second.output();
  }
}

// The operator endpoints (metrics, health, debug) stop as promptly as the proxy: civetweb, under
// /metrics, used to add about 1.5 s to every exit.
TEST_F(Drain, AnIdleProxyWithEveryOperatorEndpointExitsWithinASecondAndAHalf) {
  ports at;
  auto config = scratch / "operated.yaml";
  write_file(config, config_text(at, remote.port(), ""));
  process proxy({{S2S_PROXY_BINARY, "start", "--config", config.string()}, {}, scratch / "operated.log", {}});
  ASSERT_TRUE(proxy.wait_for_output("ready", 30s)) << proxy.output();
  ASSERT_TRUE(http_get(at.metrics, "/metrics"));
  auto took = idle_stop(proxy);
  ASSERT_TRUE(took) << proxy.output();
  EXPECT_LE(*took, 1500ms) << proxy.output();
}

// A SIGTERM that comes while the proxy is still starting (its mux-client already dialing) waits
// until the proxy is up and then stops it cleanly; no thread of the proxy may take the signal's
// default action. Several rounds, as where the signal lands is up to the kernel.
TEST_F(Drain, SigtermDuringStartupStopsTheProxyCleanly) {
  auto config = scratch / "starting.yaml";
  write_file(config, mux_proxy_yaml("cli", "mux-client", free_loopback_port()));
  for (int round = 0; round < 5; ++round) {
    process proxy({{S2S_PROXY_BINARY, "start", "--config", config.string()},
                   {},
                   scratch / ("starting-" + std::to_string(round) + ".log"),
                   {}});
    ASSERT_TRUE(proxy.wait_for_output("cli mux session", 30s)) << proxy.output();
    proxy.send_signal(SIGTERM);
    EXPECT_EQ(proxy.wait_exit(30s), 0) << proxy.output();
    EXPECT_NE(proxy.output().find("proxy: stopped"), std::string::npos) << proxy.output();
  }
}

TEST_F(Drain, ADrainThatIsNotANumberIsAUsageError) {
  auto config = scratch / "proxy.yaml";
  write_file(config, tcp_proxy_yaml("drain", outbound, "127.0.0.1:" + std::to_string(remote.port())));
  process proxy({{S2S_PROXY_BINARY, "start", "--config", config.string(), "--drain=soon"}, {}, scratch / "out", {}});
  EXPECT_EQ(proxy.wait_exit(10s), 2);
  EXPECT_NE(proxy.output().find("--drain takes seconds"), std::string::npos) << proxy.output();
}

TEST_F(Drain, ResidentMemoryReturnsWithinSecondsOfA128MiBCall) {
  auto proxy = start();
  auto stub = v1::EchoService::NewStub(make_channel("127.0.0.1:" + std::to_string(outbound)));
  v1::EchoRequest small;
  small.set_payload("warm");
  ASSERT_TRUE(call_unary(*stub, small).status.ok());
  std::this_thread::sleep_for(500ms);
  auto before = resident_bytes(proxy->pid());

  // A 128 MiB request answered by a 128 MiB response, while the peak is sampled.
  std::atomic<bool> calling = true;
  std::size_t peak = 0;
  std::thread sampler([&] {
    while (calling) {
      peak = std::max(peak, resident_bytes(proxy->pid()));
      std::this_thread::sleep_for(20ms);
    }
  });
  v1::EchoRequest big;
  big.set_payload(std::string(rpc::max_message_bytes - 16, 'm'));
  big.set_response_bytes(rpc::max_message_bytes - 4096);
  auto result = call_unary(*stub, big, {.timeout = 120s});
  calling = false;
  sampler.join();
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  big = {};
  result = {};

  // Back within 32 MiB of where it was, within a few seconds.
  constexpr std::size_t slack = 32u << 20;
  auto after = resident_bytes(proxy->pid());
  auto settle_until = std::chrono::steady_clock::now() + 8s;
  while (after > before + slack && std::chrono::steady_clock::now() < settle_until) {
    std::this_thread::sleep_for(100ms);
    after = resident_bytes(proxy->pid());
  }
  std::cout << "proxy resident memory: before " << (before >> 20) << " MiB, peak " << (peak >> 20) << " MiB, after "
            << (after >> 20) << " MiB" << std::endl;
  EXPECT_LE(after, before + slack) << "before " << before << ", peak " << peak << ", after " << after;
  EXPECT_GT(peak, before + (128u << 20)) << "the call did pass through the proxy's memory";
  EXPECT_EQ(proxy->stop(), 0);
}

}  // namespace
}  // namespace s2s::testing
