// The mux port as a hostile network and mismatched peers see it, against the proxy binary: a
// flood of silent connections and stalled handshakes does not lock a real mux-client out; a
// client that wants more sessions than the server serves (or the reverse) costs nothing while
// idle; the largest muxCount stays bounded in fds and memory; a client failing a thousand dials
// writes no more log lines than its throttle allows. Every wait is bounded.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "http/http_client.hpp"
#include "support/certs.hpp"
#include "support/echo_client.hpp"
#include "support/echo_server.hpp"
#include "support/files.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace s2s::testing {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

std::string quoted(int port) { return "\"127.0.0.1:" + std::to_string(port) + "\""; }

// One side of a mux pair: its local Temporal is `frontend`, which calls the proxy on `outbound`.
struct mux_side {
  std::string name;
  std::string type;  // mux-client or mux-server
  int mux_port = 0;
  int mux_count = 1;
  int frontend = 0;
  int outbound = free_loopback_port();
  int metrics = free_loopback_port();
  std::string tls;   // the muxAddressInfo's tls block, flow style; empty: plain TCP
  std::string more;  // further top-level YAML

  std::string yaml() const {
    return "clusterConnections:\n"
           "  - name: " +
           name +
           "\n"
           "    local:\n"
           "      connectionType: tcp\n"
           "      tcpClient: { address: " +
           quoted(frontend) +
           " }\n"
           "      tcpServer: { address: " +
           quoted(outbound) +
           " }\n"
           "    remote:\n"
           "      connectionType: " +
           type +
           "\n"
           "      muxCount: " +
           std::to_string(mux_count) +
           "\n"
           "      muxAddressInfo:\n"
           "        address: " +
           quoted(mux_port) + "\n" + (tls.empty() ? "" : "        tls: " + tls + "\n") +
           "metrics:\n  prometheus:\n    listenAddress: " + quoted(metrics) + "\n" + more;
  }
};

std::string server_tls(const test_certificates& certs) {
  return "{ certificatePath: \"" + certs.trusted.server.certificate.string() + "\", keyPath: \"" +
         certs.trusted.server.private_key.string() + "\", remoteCAPath: \"" + certs.trusted.ca_certificate.string() +
         "\" }";
}

std::string client_tls(const test_certificates& certs) {
  return "{ certificatePath: \"" + certs.trusted.client.certificate.string() + "\", keyPath: \"" +
         certs.trusted.client.private_key.string() + "\", remoteCAPath: \"" + certs.trusted.ca_certificate.string() +
         "\", caServerName: \"" + test_certificates::server_name + "\" }";
}

// One value of a metric in the Prometheus text, by its full series name ("name{labels}"), summed
// over the series that start with it; nothing when the endpoint does not answer.
std::optional<double> metric(int port, const std::string& series) {
  auto reply = http_get(port, "/metrics");
  if (!reply)
    return std::nullopt;
  std::istringstream lines(reply->body);
  std::string line;
  double sum = 0;
  while (std::getline(lines, line))
    if (line.rfind(series, 0) == 0)
      sum += std::stod(line.substr(line.rfind(' ') + 1));
  return sum;
}

class MuxAdmission : public ::testing::Test {
 protected:
  temp_dir scratch;
  test_certificates certs = make_test_certificates(scratch.path());
  echo_server frontend_a;  // behind the mux-client
  echo_server frontend_b;  // behind the mux-server
  int runs = 0;

  std::unique_ptr<process> start(const mux_side& side, std::vector<std::string> extra = {}) {
    auto label = side.name + "-" + std::to_string(++runs);
    auto config = scratch / (label + ".yaml");
    write_file(config, side.yaml());
    std::vector<std::string> argv{S2S_PROXY_BINARY, "start", "--config", config.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto proxy = std::make_unique<process>(process_options{argv, {}, scratch / (label + ".log"), {}});
    EXPECT_TRUE(proxy->wait_for_output("ready", 30s)) << proxy->output();
    return proxy;
  }

  mux_side server(int mux_count) {
    return {.name = "srv",
            .type = "mux-server",
            .mux_port = free_loopback_port(),
            .mux_count = mux_count,
            .frontend = frontend_b.port(),
            .tls = server_tls(certs)};
  }
  mux_side client(const mux_side& to, int mux_count) {
    return {.name = "cli",
            .type = "mux-client",
            .mux_port = to.mux_port,
            .mux_count = mux_count,
            .frontend = frontend_a.port(),
            .tls = client_tls(certs)};
  }
};

// Calls into `outbound` until one is answered; how long that took, or nothing within `bound`.
std::optional<std::chrono::milliseconds> first_answer(int outbound, clock::time_point since,
                                                      std::chrono::milliseconds bound) {
  auto stub = v1::EchoService::NewStub(make_channel("127.0.0.1:" + std::to_string(outbound)));
  v1::EchoRequest hello;
  hello.set_payload("admitted");
  while (clock::now() < since + bound) {
    auto result = call_unary(*stub, hello, {.timeout = 500ms});
    if (result.status.ok() && result.responses.size() == 1 && result.responses[0].payload() == "admitted")
      return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - since);
    std::this_thread::sleep_for(20ms);
  }
  return std::nullopt;
}

// A connection to 127.0.0.1:port from `source`, or -1; non-blocking, the connect maybe still under
// way.
int dial_from(const std::string& source, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      (::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0 && errno != EINPROGRESS)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A hostile peer of the mux port: `idle` connections that never send a byte and `stalled` ones
// that send the first bytes of a TLS ClientHello and then nothing, spread over ten source
// addresses, each re-opened as soon as the server closes it, until the flood is destroyed.
class flood {
 public:
  flood(int port, int idle, int stalled) : port_(port) {
    for (int i = 0; i < idle + stalled; ++i)
      connections_.push_back({-1, i >= idle, false, "127.0.0." + std::to_string(2 + i % 10)});
    thread_ = std::thread([this] { run(); });
  }
  ~flood() {
    stop_ = true;
    thread_.join();
    for (auto& connection : connections_)
      if (connection.fd >= 0)
        ::close(connection.fd);
  }
  std::uint64_t reopened() const { return reopened_; }
  // Connections open now (connected or connecting).
  std::size_t open() const { return open_; }

 private:
  struct connection {
    int fd;
    bool stalls;  // sends a partial ClientHello once connected
    bool sent;
    std::string source;
  };

  void run() {
    std::vector<pollfd> fds;
    while (!stop_) {
      for (auto& c : connections_)
        if (c.fd < 0) {
          c.fd = dial_from(c.source, port_);
          c.sent = false;
          if (c.fd >= 0 && reopening_)
            ++reopened_;
        }
      reopening_ = true;
      fds.clear();
      std::size_t open = 0;
      for (auto& c : connections_) {
        open += c.fd >= 0;
        fds.push_back({c.fd, static_cast<short>(POLLIN | (c.stalls && !c.sent ? POLLOUT : 0)), 0});
      }
      open_ = open;
      ::poll(fds.data(), fds.size(), 50);
      for (std::size_t i = 0; i < fds.size(); ++i) {
        auto& c = connections_[i];
        if (c.fd < 0 || !fds[i].revents)
          continue;
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
          char buffer[256];
          auto got = ::recv(c.fd, buffer, sizeof buffer, MSG_DONTWAIT);
          if (got == 0 || (got < 0 && errno != EAGAIN)) {
            ::close(c.fd);
            c.fd = -1;
            continue;
          }
        }
        if ((fds[i].revents & POLLOUT) && c.stalls && !c.sent) {
          // A handshake record announcing 512 bytes, of which only the first few come.
          static const unsigned char partial_hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc};
          [[maybe_unused]] auto sent = ::send(c.fd, partial_hello, sizeof partial_hello, MSG_NOSIGNAL);
          c.sent = true;
        }
      }
    }
  }

  int port_;
  std::vector<connection> connections_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> reopened_{0};
  std::atomic<std::size_t> open_{0};
  bool reopening_ = false;
  std::thread thread_;
};

// Acceptance: 500 idle connections and 100 stalled handshakes, held and re-opened as fast as the
// server closes them, do not keep a legitimate mux-client out, at its first start or a restart.
TEST_F(MuxAdmission, AFloodOfSilentConnectionsAndStalledHandshakesDoesNotLockAClientOut) {
  auto b = server(1);
  auto proxy_b = start(b);
  flood hostile(b.mux_port, 500, 100);
  // The flood is in place: every connection open, some already closed once by the server.
  auto flooded_until = clock::now() + 20s;
  while ((hostile.open() < 600 || hostile.reopened() == 0) && clock::now() < flooded_until)
    std::this_thread::sleep_for(50ms);
  ASSERT_EQ(hostile.open(), 600u);
  ASSERT_GT(hostile.reopened(), 0u) << "the server closed none of the silent connections";

  auto a = client(b, 1);
  auto started = clock::now();
  auto proxy_a = start(a);
  auto took = first_answer(a.outbound, started, 10s);
  ASSERT_TRUE(took) << proxy_a->output() << proxy_b->output();
  std::cout << "first call through a new mux-client during the flood: " << took->count() << " ms" << std::endl;
  EXPECT_LE(*took, 5s);

  // Killed and started again: the server's slot is free once the old session's socket closes.
  proxy_a->send_signal(SIGKILL);
  proxy_a->wait_exit(10s);
  proxy_a.reset();
  started = clock::now();
  proxy_a = start(a);
  took = first_answer(a.outbound, started, 10s);
  ASSERT_TRUE(took) << proxy_a->output() << proxy_b->output();
  std::cout << "first call through the restarted mux-client: " << took->count() << " ms" << std::endl;
  EXPECT_LE(*took, 5s);
  auto refused = metric(b.metrics, "s2s_proxy_mux_connections_refused_total");
  ASSERT_TRUE(refused);
  std::cout << "flood connections re-opened: " << hostile.reopened() << ", refused by the server: " << *refused
            << std::endl;
  EXPECT_GT(*refused, 0);
  EXPECT_EQ(proxy_a->stop(), 0);
  EXPECT_EQ(proxy_b->stop(), 0);
}

// Both directions of a mux pair answer.
void expect_calls_both_ways(const mux_side& a, const mux_side& b) {
  auto since = clock::now();
  EXPECT_TRUE(first_answer(a.outbound, since, 20s)) << "a to b";
  EXPECT_TRUE(first_answer(b.outbound, since, 20s)) << "b to a";
}

// CPU seconds each process uses over an idle `span`.
std::pair<double, double> idle_cpu(process& one, process& other, std::chrono::seconds span) {
  auto one_before = cpu_seconds(one.pid());
  auto other_before = cpu_seconds(other.pid());
  std::this_thread::sleep_for(span);
  return {cpu_seconds(one.pid()) - one_before, cpu_seconds(other.pid()) - other_before};
}

// Acceptance: a client wanting more sessions than the server serves, and the reverse, idle for
// 10 s: neither process loops. (The Go mux-server takes no connection while its muxCount is
// used up, so its clients wait in the backlog; ours does the same.)
TEST_F(MuxAdmission, MismatchedMuxCountsCostNeitherSideCpuWhileIdle) {
  struct pairing {
    int client_count;
    int server_count;
  };
  for (auto counts : {pairing{10, 1}, pairing{1, 10}}) {
    auto b = server(counts.server_count);
    auto proxy_b = start(b);
    auto a = client(b, counts.client_count);
    auto proxy_a = start(a);
    expect_calls_both_ways(a, b);
    std::this_thread::sleep_for(2s);  // past the start, when both sides dial and accept at once
    auto [client_cpu, server_cpu] = idle_cpu(*proxy_a, *proxy_b, 10s);
    std::cout << "mux-client wanting " << counts.client_count << " sessions, mux-server serving " << counts.server_count
              << ": CPU over 10 idle s: client " << client_cpu << " s, server " << server_cpu << " s" << std::endl;
    EXPECT_LE(client_cpu, 0.1) << proxy_a->output();
    EXPECT_LE(server_cpu, 0.1) << proxy_b->output();
    expect_calls_both_ways(a, b);
    EXPECT_EQ(proxy_a->stop(), 0);
    EXPECT_EQ(proxy_b->stop(), 0);
  }
}

// Acceptance: the largest muxCount a client may have, against a server serving 4: fds and
// memory stay bounded, and SIGTERM ends it within the drain bound.
TEST_F(MuxAdmission, TheLargestMuxCountStaysBoundedAndStopsWithinTheDrainBound) {
  auto b = server(4);
  auto proxy_b = start(b);
  auto a = client(b, 1024);
  auto proxy_a = start(a, {"--drain", "2"});
  expect_calls_both_ways(a, b);
  std::size_t most_fds = 0, most_memory = 0;
  for (auto until = clock::now() + 8s; clock::now() < until; std::this_thread::sleep_for(100ms)) {
    most_fds = std::max(most_fds, open_fds(proxy_a->pid()));
    most_memory = std::max(most_memory, resident_bytes(proxy_a->pid()));
  }
  std::cout << "mux-client with muxCount 1024 against 4: at most " << most_fds << " fds, " << (most_memory >> 20)
            << " MiB resident" << std::endl;
  // 4 sessions, at most 8 dialing, the listeners, the channels and the runtime's own.
  EXPECT_LE(most_fds, 128u);
  EXPECT_LE(most_memory, 128u << 20);
  auto stopping = clock::now();
  proxy_a->send_signal(SIGTERM);
  auto code = proxy_a->wait_exit(30s);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - stopping);
  std::cout << "SIGTERM to exit: " << took.count() << " ms (drain bound 2 s)" << std::endl;
  EXPECT_EQ(code, 0) << proxy_a->output();
  EXPECT_LE(took, 2500ms) << proxy_a->output();
  EXPECT_EQ(proxy_a->output().find("unhandled exception"), std::string::npos) << proxy_a->output();
  EXPECT_EQ(proxy_b->stop(), 0);
}

// Acceptance: a mux-client whose every dial fails (nothing listens), with a thousand sessions
// to keep, fails at least 1,000 dials within 5 s; the lines it writes for them stay within
// throttleMaxRPS per component plus the "lines dropped" summaries (at most one a second), once
// the proxy is ready (the lines before, which say what it serves, are never throttled).
TEST_F(MuxAdmission, AThousandFailedDialsWriteNoMoreLinesThanTheThrottleAllows) {
  constexpr double rate = 20;
  mux_side nowhere{.name = "cli",
                   .type = "mux-client",
                   .mux_port = free_loopback_port(),
                   .mux_count = 1024,
                   .frontend = frontend_a.port(),
                   .more = "logging:\n  throttleMaxRPS: " + std::to_string(static_cast<int>(rate)) + "\n"};
  auto started = clock::now();
  auto proxy = start(nowhere);
  auto failed = [&] { return metric(nowhere.metrics, "s2s_proxy_mux_session_errors_total").value_or(0); };
  std::this_thread::sleep_until(started + 5s);
  auto failures = failed();
  auto text = proxy->output();
  auto elapsed = std::chrono::duration<double>(clock::now() - started).count();
  EXPECT_EQ(proxy->stop(), 0);
  ASSERT_GE(failures, 1000) << text;

  // "<time> <LEVEL> <component>: <message>"; the component without its number words.
  std::map<std::string, int> lines_by_component;
  int summaries = 0, lines = 0;
  std::istringstream stream(text);
  std::string line;
  static const std::regex shape(R"(^\S+ (DEBUG|INFO|WARN|ERROR) ([^:]+): (.*)$)");
  static const std::regex number_word(R"( [0-9]+(?= |$))");
  // Lines before "ready" are not throttled (they say what the proxy serves): counting starts after.
  while (std::getline(stream, line) && line.find(" INFO proxy: ready") == std::string::npos) {
  }
  while (std::getline(stream, line)) {
    std::smatch parts;
    if (!std::regex_match(line, parts, shape))
      continue;
    ++lines;
    if (parts[2] == "log" && parts[3].str().find("dropped by throttleMaxRPS") != std::string::npos) {
      ++summaries;
      continue;
    }
    ++lines_by_component[std::regex_replace(parts[2].str(), number_word, "")];
  }
  std::cout << failures << " failed dials in " << elapsed << " s; " << lines << " log lines, " << summaries
            << " of them summaries:";
  for (const auto& [component, count] : lines_by_component)
    std::cout << " [" << component << ": " << count << "]";
  std::cout << std::endl;
  for (const auto& [component, count] : lines_by_component)
    EXPECT_LE(count, rate * (elapsed + 1)) << component;  // a second's burst, then the rate
  EXPECT_LE(summaries, elapsed + 2);
  EXPECT_GT(summaries, 0) << "nothing was dropped: the test did not reach the throttle";
  if (::testing::Test::HasFailure())
    std::cout << text;
}

}  // namespace
}  // namespace s2s::testing
