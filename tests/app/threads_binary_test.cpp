// The threads of the running proxy binary against docs/threads.md: every thread the page names
// (transient ones aside) runs in a proxy that has what the thread is for, every thread that runs
// is named on the page, and only the main thread carries the binary's name; of the transient ones,
// the mux session set-up thread is caught in a handshake that never ends. The names are read
// from the page's tables, so the page and this test cannot drift apart.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/certs.hpp"
#include "support/echo_client.hpp"
#include "support/echo_server.hpp"
#include "support/files.hpp"
#include "support/notify_socket.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace s2s::testing {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// What the main thread is called: the kernel names a process's first thread after its binary.
const std::string main_thread_name = std::filesystem::path(S2S_PROXY_BINARY).filename().string().substr(0, 15);

// One row of the page's thread tables.
struct listed_thread {
  std::string name;      // as the page writes it, "s2s-io-N" for a numbered one
  std::regex matches;    // the names a thread of this row has
  std::string presence;  // the row's last column: "always", "transient", or when it runs
};

std::string trimmed(std::string text) {
  auto first = text.find_first_not_of(' ');
  auto last = text.find_last_not_of(' ');
  return first == std::string::npos ? "" : text.substr(first, last - first + 1);
}

// The rows of every table under "## Threads", up to the next section.
std::vector<listed_thread> threads_on_the_page() {
  std::istringstream page(read_file(std::filesystem::path(S2S_SOURCE_DIR) / "docs" / "threads.md"));
  std::vector<listed_thread> rows;
  bool in_threads = false;
  for (std::string line; std::getline(page, line);) {
    if (line.starts_with("## "))
      in_threads = line == "## Threads";
    if (!in_threads || !line.starts_with("| `"))
      continue;
    auto name_end = line.find('`', 3);
    auto last_bar = line.rfind('|', line.size() - 2);
    if (name_end == std::string::npos || last_bar == std::string::npos)
      throw std::runtime_error("docs/threads.md: a thread row without a `name` or columns: " + line);
    auto name = line.substr(3, name_end - 3);
    // "-N" at the end stands for a number; the rest of a name is literal.
    bool numbered = name.ends_with("-N");
    auto literal = numbered ? name.substr(0, name.size() - 1) : name;
    auto escaped = std::regex_replace(literal, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)");
    rows.push_back({name, std::regex(escaped + (numbered ? "[0-9]+" : "")),
                    trimmed(line.substr(last_bar + 1, line.size() - last_bar - 2))});
  }
  return rows;
}

struct running_thread {
  pid_t id = 0;
  std::string name;
};

// The process's threads as /proc/<pid>/task shows them now.
std::vector<running_thread> threads_of(pid_t pid) {
  std::vector<running_thread> found;
  std::error_code missing;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", missing)) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (!std::getline(comm, name))
      continue;  // the thread ended while we looked
    found.push_back({static_cast<pid_t>(std::stol(task.path().filename().string())), name});
  }
  return found;
}

std::string describe(const std::vector<running_thread>& threads) {
  std::map<std::string, int> counts;
  for (const auto& thread : threads)
    ++counts[thread.name];
  std::string text;
  for (const auto& [name, count] : counts)
    text += (text.empty() ? "" : ", ") + name + (count > 1 ? " x" + std::to_string(count) : "");
  return text;
}

const listed_thread* row_of(const std::vector<listed_thread>& rows, const std::string& name) {
  for (const auto& row : rows)
    if (std::regex_match(name, row.matches))
      return &row;
  return nullptr;
}

// Looks at the process until a thread of every row that `expected` picks has been seen, for up to
// `bound`; returns the rows never seen.
template <typename Pick>
std::vector<std::string> missing_threads(pid_t pid, const std::vector<listed_thread>& rows, Pick expected,
                                         std::chrono::milliseconds bound, std::vector<running_thread>& last) {
  std::set<std::string> wanted;
  for (const auto& row : rows)
    if (expected(row))
      wanted.insert(row.name);
  auto deadline = clock::now() + bound;
  while (true) {
    last = threads_of(pid);
    for (const auto& thread : last)
      if (const auto* row = row_of(rows, thread.name))
        wanted.erase(row->name);
    if (wanted.empty() || clock::now() >= deadline)
      return {wanted.begin(), wanted.end()};
    std::this_thread::sleep_for(100ms);
  }
}

// Every thread of the process is one the page lists, and the binary's name is the main thread's
// alone.
void expect_only_listed_threads(pid_t pid, const std::vector<listed_thread>& rows, const std::string& proxy) {
  auto threads = threads_of(pid);
  ASSERT_FALSE(threads.empty()) << proxy << " is not running";
  // A thread starts with the binary's name and names itself as it begins: one caught in between
  // is looked at again, for up to a second, before it counts as unnamed.
  auto unnamed_yet = [&] {
    return std::any_of(threads.begin(), threads.end(),
                       [&](const running_thread& t) { return t.name == main_thread_name && t.id != pid; });
  };
  for (int i = 0; i < 20 && unnamed_yet(); ++i) {
    std::this_thread::sleep_for(50ms);
    threads = threads_of(pid);
  }
  for (const auto& thread : threads) {
    EXPECT_NE(row_of(rows, thread.name), nullptr) << proxy << ": thread " << thread.id << " '" << thread.name
                                                  << "' is not in docs/threads.md; threads: " << describe(threads);
    if (thread.name == main_thread_name)
      EXPECT_EQ(thread.id, pid) << proxy << ": thread " << thread.id
                                << " is unnamed (it has the binary's name); threads: " << describe(threads);
  }
}

std::string quoted(int port) { return "\"127.0.0.1:" + std::to_string(port) + "\""; }

std::string tls_block(const certificate_files& leaf, const test_certificates& certs, bool client) {
  return "{ certificatePath: \"" + leaf.certificate.string() + "\", keyPath: \"" + leaf.private_key.string() +
         "\", remoteCAPath: \"" + certs.trusted.ca_certificate.string() + "\"" +
         (client ? std::string(", caServerName: \"") + test_certificates::server_name + "\"" : "") + " }";
}

// A cluster connection in TCP mode on both sides, each endpoint on its own loopback port.
std::string tcp_connection(const std::string& name, int frontend, int outbound, const std::string& more = "") {
  return "  - name: " + name +
         "\n    local:\n      connectionType: tcp\n      tcpClient: { address: " + quoted(frontend) +
         " }\n      tcpServer: { address: " + quoted(outbound) +
         " }\n    remote:\n      connectionType: tcp\n      tcpClient: { address: " + quoted(free_loopback_port()) +
         " }\n      tcpServer: { address: " + quoted(free_loopback_port()) + " }\n" + more;
}

// A cluster connection whose remote side is a mux-client or mux-server on `mux_port`, over mutual TLS.
std::string mux_connection(const std::string& name, const std::string& type, int frontend, int outbound, int mux_port,
                           const std::string& tls, const std::string& more = "") {
  return "  - name: " + name +
         "\n    local:\n      connectionType: tcp\n      tcpClient: { address: " + quoted(frontend) +
         " }\n      tcpServer: { address: " + quoted(outbound) + " }\n    remote:\n      connectionType: " + type +
         "\n      muxCount: 2\n      muxAddressInfo:\n" + "        address: " + quoted(mux_port) +
         "\n        tls: " + tls + "\n" + more;
}

// True once a call into `outbound` is answered by the echo server behind the proxies, within `bound`.
bool calls_pass(int outbound, std::chrono::milliseconds bound) {
  auto stub = v1::EchoService::NewStub(make_channel("127.0.0.1:" + std::to_string(outbound)));
  auto deadline = clock::now() + bound;
  while (clock::now() < deadline) {
    auto result = call_unary(*stub, echo("through"), {.timeout = 1s});
    if (result.status.ok() && result.responses.size() == 1 && result.responses[0].payload() == "through")
      return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

class Threads : public ::testing::Test {
 protected:
  temp_dir scratch;
  std::vector<listed_thread> rows = threads_on_the_page();
  int runs = 0;

  std::unique_ptr<process> start(const std::string& yaml, std::vector<std::pair<std::string, std::string>> env = {}) {
    auto label = "proxy-" + std::to_string(++runs);
    write_file(scratch / (label + ".yaml"), yaml);
    auto proxy = std::make_unique<process>(
        process_options{{S2S_PROXY_BINARY, "start", "--config", (scratch / (label + ".yaml")).string()},
                        std::move(env),
                        scratch / (label + ".log"),
                        {}});
    EXPECT_TRUE(proxy->wait_for_output("proxy: ready", 30s)) << proxy->output();
    return proxy;
  }
};

TEST_F(Threads, ThePageListsTheMainThreadTheWorkersAndTransientThreads) {
  ASSERT_GE(rows.size(), 10u);
  ASSERT_NE(row_of(rows, main_thread_name), nullptr);
  EXPECT_EQ(row_of(rows, main_thread_name)->presence, "always");
  ASSERT_NE(row_of(rows, "s2s-actor-0"), nullptr);
  EXPECT_EQ(row_of(rows, "s2s-actor-12")->name, "s2s-actor-N");
  EXPECT_EQ(row_of(rows, "s2s-actor-"), nullptr);
  ASSERT_NE(row_of(rows, "s2s-mux-setup"), nullptr);
  EXPECT_EQ(row_of(rows, "s2s-mux-setup")->presence, "transient");
  for (const auto& row : rows)
    EXPECT_LE(row.name.size(), 15u) << row.name << ": the kernel keeps 15 characters of a thread's name";
}

// A TCP-mode proxy with nothing else configured runs every thread the page says is always there.
TEST_F(Threads, APlainTcpProxyRunsTheThreadsThatAreAlwaysThere) {
  echo_server frontend;
  auto proxy = start("clusterConnections:\n" + tcp_connection("plain", frontend.port(), free_loopback_port()));
  std::vector<running_thread> seen;
  auto missing = missing_threads(
      proxy->pid(), rows, [](const listed_thread& row) { return row.presence == "always"; }, 30s, seen);
  EXPECT_TRUE(missing.empty()) << "not running: " << ::testing::PrintToString(missing)
                               << "; threads: " << describe(seen) << "\n"
                               << proxy->output();
  expect_only_listed_threads(proxy->pid(), rows, "the TCP proxy");
}

// A mux-server proxy with every operator endpoint, a watchdog, a schema asked by reflection and a group
// member, served by a mux-client proxy over mutual TLS: every thread the page does not call transient
// runs in it, and neither proxy runs a thread the page does not name.
TEST_F(Threads, AProxyWithEveryPartRunsEveryThreadThePageNamesAndNoOther) {
  auto certs = make_test_certificates(scratch.path());
  echo_server frontend_a;  // behind the mux-client
  echo_server frontend_b;  // behind the mux-server
  int mux_port = free_loopback_port();
  int server_outbound = free_loopback_port();
  int client_outbound = free_loopback_port();
  notify_socket manager(scratch / "notify");

  // Nothing answers reflection on `nothing_there`, so that schema is asked by gRPC again and again.
  int nothing_there = free_loopback_port();
  auto health = "    localClusterHealthCheck: { listenAddress: " + quoted(free_loopback_port()) +
                " }\n    remoteClusterHealthCheck: { listenAddress: " + quoted(free_loopback_port()) + " }\n";
  // One instance of a group (memberlist), so CAF's middleman runs too.
  auto group = "    memberlist:\n      enabled: true\n      nodeName: b1\n      bindAddr: 127.0.0.1\n      bindPort: " +
               std::to_string(free_loopback_port()) + "\n      proxyAddresses: { b1: " + quoted(server_outbound) +
               " }\n      tls: " + tls_block(certs.trusted.server, certs, false) + "\n";
  auto server = start("clusterConnections:\n" +
                          mux_connection("served", "mux-server", frontend_b.port(), server_outbound, mux_port,
                                         tls_block(certs.trusted.server, certs, false), group) +
                          tcp_connection("direct", nothing_there, free_loopback_port(), health) +
                          "metrics:\n  prometheus:\n    listenAddress: " + quoted(free_loopback_port()) +
                          "\nprofiling:\n  pprofAddress: " + quoted(free_loopback_port()) + "\n",
                      {{"NOTIFY_SOCKET", manager.path().string()}, {"WATCHDOG_USEC", "2000000"}});
  auto client =
      start("clusterConnections:\n" + mux_connection("dialing", "mux-client", frontend_a.port(), client_outbound,
                                                     mux_port, tls_block(certs.trusted.client, certs, true)));
  // Both ways through the mux sessions, so the session set-up has run on each side.
  ASSERT_TRUE(calls_pass(client_outbound, 30s)) << server->output() << client->output();
  ASSERT_TRUE(calls_pass(server_outbound, 30s)) << server->output() << client->output();

  std::vector<running_thread> seen;
  auto missing = missing_threads(
      server->pid(), rows, [](const listed_thread& row) { return row.presence != "transient"; }, 30s, seen);
  EXPECT_TRUE(missing.empty()) << "not running: " << ::testing::PrintToString(missing)
                               << "; threads: " << describe(seen) << "\n"
                               << server->output();
  expect_only_listed_threads(server->pid(), rows, "the mux-server proxy");
  expect_only_listed_threads(client->pid(), rows, "the mux-client proxy");
}

// Transient threads exist while their work lasts: a mux-client whose peer takes the connection but
// never answers the TLS handshake keeps its session on `s2s-mux-setup` until the handshake times out.
TEST_F(Threads, AMuxSessionIsSetUpOnItsOwnNamedThread) {
  auto certs = make_test_certificates(scratch.path());
  echo_server frontend;
  // A listening socket that never accepts: the kernel completes the TCP handshake from its backlog.
  int silent = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(silent, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(silent, 16), 0);
  ASSERT_EQ(::getsockname(silent, reinterpret_cast<sockaddr*>(&address), &length), 0);
  auto client = start("clusterConnections:\n" + mux_connection("stalled", "mux-client", frontend.port(),
                                                               free_loopback_port(), ntohs(address.sin_port),
                                                               tls_block(certs.trusted.client, certs, true)));
  std::vector<running_thread> seen;
  auto missing = missing_threads(
      client->pid(), rows, [](const listed_thread& row) { return row.name == "s2s-mux-setup"; }, 30s, seen);
  EXPECT_TRUE(missing.empty()) << "no s2s-mux-setup thread; threads: " << describe(seen) << "\n" << client->output();
  expect_only_listed_threads(client->pid(), rows, "the stalled mux-client");
  ::close(silent);
}

}  // namespace
}  // namespace s2s::testing
