// Benchmark: the proxy binary in TCP mode, and a proxy pair in mux mode, against a direct
// connection, measured in one run, in alternating rounds.
//
// Reports unary 1 KiB latency (p50, p99) and calls/s (from S2S_BENCH_CALLERS concurrent callers), bidi streaming of 1
// KiB and 1 MiB messages (messages/s, MB/s), and the proxy process's CPU time per message. With S2S_BENCH_SCRAPE set,
// it also measures a proxy with /metrics on in rounds where /metrics is scraped once a second and rounds where it is
// not, alternating. Not a test: nothing here passes or fails on speed.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include <grpcpp/client_context.h>

#include "support/certs.hpp"
#include "support/echo_client.hpp"
#include "support/echo_server.hpp"
#include "support/files.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/proxy_config.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace s2s::testing;

// The proxy under measurement, so a failure can show what it logged.
process* measured_proxy = nullptr;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "%s\n", what.c_str());
  if (measured_proxy)
    std::fprintf(stderr, "proxy output:\n%s\n", measured_proxy->output().c_str());
  std::exit(1);
}
using clock_type = std::chrono::steady_clock;

// CPU seconds (user + system) a process has used so far, from /proc.
double cpu_seconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto fields = text.substr(text.rfind(')') + 2);
  std::istringstream in(fields);
  std::string skip;
  for (int i = 0; i < 11; ++i)  // fields 3..13
    in >> skip;
  double user = 0, system = 0;
  in >> user >> system;
  return (user + system) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Context switches (voluntary and involuntary) of all of a process's threads so far.
double context_switches(pid_t pid) {
  double total = 0;
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", error)) {
    std::ifstream status(task.path() / "status");
    for (std::string line; std::getline(status, line);)
      if (line.find("ctxt_switches:") != std::string::npos)
        total += std::stod(line.substr(line.find(':') + 1));
  }
  return total;
}

struct unary_figures {
  double p50_us = 0, p99_us = 0, calls_per_second = 0;
};

// Concurrent callers of the unary runs (S2S_BENCH_CALLERS, 1 unless set), each on its own thread,
// all on one channel, as a Temporal server's calls share its connection to the proxy.
int unary_callers = 1;

unary_figures run_unary(v1::EchoService::Stub& stub, int calls) {
  if (calls <= 0)
    return {};
  v1::EchoRequest request;
  request.set_payload(pattern_payload(1024));
  for (int i = 0; i < calls / 10; ++i)  // warm-up
    call_unary(stub, request);
  std::vector<std::vector<double>> per_caller(unary_callers);
  auto start = clock_type::now();
  std::vector<std::thread> threads;
  for (int caller = 0; caller < unary_callers; ++caller)
    threads.emplace_back([&, caller] {
      auto& micros = per_caller[caller];
      int mine = calls / unary_callers + (caller < calls % unary_callers ? 1 : 0);
      micros.reserve(mine);
      for (int i = 0; i < mine; ++i) {
        grpc::ClientContext context;
        v1::EchoResponse response;
        auto before = clock_type::now();
        auto status = stub.Unary(&context, request, &response);
        micros.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - before).count());
        if (!status.ok())
          fail("unary call " + std::to_string(i) + " failed: " + status.error_message());
      }
    });
  for (auto& thread : threads)
    thread.join();
  double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  std::vector<double> micros;
  for (auto& some : per_caller)
    micros.insert(micros.end(), some.begin(), some.end());
  std::sort(micros.begin(), micros.end());
  return {micros[micros.size() / 2], micros[micros.size() * 99 / 100], calls / seconds};
}

struct stream_figures {
  double messages_per_second = 0, megabytes_per_second = 0;
};

// One bidi call: a writer thread sends `count` messages while this thread reads the echoes.
stream_figures run_stream(v1::EchoService::Stub& stub, std::size_t size, int count) {
  if (count == 0)
    return {};
  v1::EchoRequest request;
  request.set_payload(pattern_payload(size));
  grpc::ClientContext context;
  auto stream = stub.Bidi(&context);
  auto start = clock_type::now();
  std::thread writer([&] {
    for (int i = 0; i < count; ++i)
      if (!stream->Write(request))
        break;
    stream->WritesDone();
  });
  v1::EchoResponse response;
  int received = 0;
  while (received < count && stream->Read(&response))
    ++received;
  writer.join();
  auto status = stream->Finish();
  double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  if (!status.ok() || received != count)
    fail("stream failed after " + std::to_string(received) + " messages: " + status.error_message());
  // Bytes that crossed the proxy: every message went there and back.
  double megabytes = 2.0 * static_cast<double>(size) * count / 1e6;
  return {count / seconds, megabytes / seconds};
}

struct path_figures {
  unary_figures unary;
  stream_figures small, large;
  double proxy_cpu_us_per_unary = 0, proxy_cpu_us_per_small = 0, proxy_cpu_us_per_large = 0;
  double proxy_switches_per_unary = 0;
  // The 1 MiB phase: CPU of this process (the callers and the echo server) per message, and the
  // cores busy on average (this process and the proxies together), to tell a CPU-bound path from
  // one that waits.
  double caller_cpu_us_per_large = 0, cores_busy_large = 0;
};

// Sums a per-process figure over the proxies of a path (none for the direct path).
double total(const std::vector<pid_t>& proxies, double (*figure)(pid_t)) {
  double sum = 0;
  for (auto pid : proxies)
    sum += figure(pid);
  return sum;
}

// `amount` per one of `count`; 0 for a run that did not happen.
double per(double amount, double count) { return count > 0 ? amount / count : 0; }

path_figures measure(const std::string& target, const std::vector<pid_t>& proxies, int unary_calls, int small_count,
                     int large_count) {
  auto stub = v1::EchoService::NewStub(make_channel(target));
  path_figures figures;
  double before = total(proxies, cpu_seconds);
  double switches_before = total(proxies, context_switches);
  figures.unary = run_unary(*stub, unary_calls);
  double after_unary = total(proxies, cpu_seconds);
  figures.proxy_switches_per_unary = per(total(proxies, context_switches) - switches_before, unary_calls * 1.1);
  figures.small = run_stream(*stub, 1024, small_count);
  double after_small = total(proxies, cpu_seconds);
  double caller_before = cpu_seconds(getpid());
  auto large_start = clock_type::now();
  figures.large = run_stream(*stub, 1 << 20, large_count);
  double large_seconds = std::chrono::duration<double>(clock_type::now() - large_start).count();
  double after_large = total(proxies, cpu_seconds);
  double caller_cpu = cpu_seconds(getpid()) - caller_before;
  if (large_count > 0) {
    figures.caller_cpu_us_per_large = caller_cpu * 1e6 / (2.0 * large_count);
    figures.cores_busy_large = (caller_cpu + after_large - after_small) / large_seconds;
  }
  figures.proxy_cpu_us_per_unary = per((after_unary - before) * 1e6, unary_calls * 1.1);
  figures.proxy_cpu_us_per_small = per((after_small - after_unary) * 1e6, 2.0 * small_count);
  figures.proxy_cpu_us_per_large = per((after_large - after_small) * 1e6, 2.0 * large_count);
  return figures;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  auto n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// Each figure's median over rounds.
path_figures median_figures(const std::vector<path_figures>& rounds) {
  auto of = [&](auto pick) {
    std::vector<double> values;
    for (const auto& round : rounds)
      values.push_back(pick(round));
    return median(values);
  };
  path_figures out;
  out.unary.p50_us = of([](const path_figures& f) { return f.unary.p50_us; });
  out.unary.p99_us = of([](const path_figures& f) { return f.unary.p99_us; });
  out.unary.calls_per_second = of([](const path_figures& f) { return f.unary.calls_per_second; });
  out.small.messages_per_second = of([](const path_figures& f) { return f.small.messages_per_second; });
  out.small.megabytes_per_second = of([](const path_figures& f) { return f.small.megabytes_per_second; });
  out.large.messages_per_second = of([](const path_figures& f) { return f.large.messages_per_second; });
  out.large.megabytes_per_second = of([](const path_figures& f) { return f.large.megabytes_per_second; });
  out.proxy_cpu_us_per_unary = of([](const path_figures& f) { return f.proxy_cpu_us_per_unary; });
  out.proxy_cpu_us_per_small = of([](const path_figures& f) { return f.proxy_cpu_us_per_small; });
  out.proxy_cpu_us_per_large = of([](const path_figures& f) { return f.proxy_cpu_us_per_large; });
  out.proxy_switches_per_unary = of([](const path_figures& f) { return f.proxy_switches_per_unary; });
  out.caller_cpu_us_per_large = of([](const path_figures& f) { return f.caller_cpu_us_per_large; });
  out.cores_busy_large = of([](const path_figures& f) { return f.cores_busy_large; });
  return out;
}

// Measures each path in `rounds` rounds, the order rotated each round so that drift in what else
// the machine does falls on all paths alike; each path's figures are medians over its rounds.
std::vector<path_figures> alternate(const std::vector<std::function<path_figures()>>& paths, int rounds) {
  std::vector<std::vector<path_figures>> taken(paths.size());
  for (int round = 0; round < rounds; ++round)
    for (std::size_t k = 0; k < paths.size(); ++k) {
      auto path = (k + round) % paths.size();
      taken[path].push_back(paths[path]());
    }
  std::vector<path_figures> out;
  for (const auto& rounds_of_path : taken)
    out.push_back(median_figures(rounds_of_path));
  return out;
}

// Resident set of a process, in KiB, from /proc.
double resident_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stod(line.substr(6));
  return 0;
}

// How often `text` occurs in `in`.
std::size_t occurrences(const std::string& in, const std::string& text) {
  std::size_t count = 0;
  for (auto at = in.find(text); at != std::string::npos; at = in.find(text, at + text.size()))
    ++count;
  return count;
}

// Starts the proxy binary on `config` with its output in `log`, and makes it the one whose
// output a failure shows.
std::unique_ptr<process> start_proxy(const std::filesystem::path& config, const std::filesystem::path& log,
                                     const std::string& level, const std::string& binary = S2S_PROXY_BINARY) {
  // S2S_BENCH_WRAPPER runs the proxy under a tool, e.g. "valgrind --tool=callgrind".
  std::vector<std::string> command;
  if (const char* wrapper = std::getenv("S2S_BENCH_WRAPPER")) {
    std::istringstream words(wrapper);
    for (std::string word; words >> word;)
      command.push_back(word);
  }
  for (std::string word :
       {binary, std::string("start"), std::string("--config"), config.string(), std::string("--level"), level})
    command.push_back(word);
  auto proxy = std::make_unique<process>(process_options{command, {}, log, {}});
  measured_proxy = proxy.get();
  return proxy;
}

// Calls `target` until a call succeeds (a bounded number of tries); fails the run if none does.
void wait_until_serving(const std::string& target) {
  for (int i = 0; i < 600; ++i) {
    v1::EchoRequest ping;
    auto stub = v1::EchoService::NewStub(make_channel(target));
    call_options quick;
    quick.timeout = std::chrono::milliseconds(200);
    if (call_unary(*stub, ping, quick).status.ok())
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  fail("the proxy at " + target + " does not serve");
}

// A proxy pair in mux mode: A (mux-client) takes the calls on `target`, B (mux-server)
// forwards them to the upstream; between them yamux sessions on mutual TLS.
struct mux_pair {
  std::unique_ptr<process> a, b;
  std::string target;
  std::vector<pid_t> pids() const { return {a->pid(), b->pid()}; }
};

std::string mux_yaml(const std::string& name, const std::string& local_client, int local_server,
                     const std::string& type, int mux_port, int sessions, const std::string& tls) {
  auto loopback = [](int port) { return "\"127.0.0.1:" + std::to_string(port) + "\""; };
  // The session lines are what start_mux_pair counts: the log throttle must not drop them.
  return "logging:\n  throttleMaxRPS: 1000\n"
         "clusterConnections:\n"
         "  - name: " +
         name +
         "\n"
         "    local:\n"
         "      connectionType: tcp\n"
         "      tcpClient: { address: \"" +
         local_client +
         "\" }\n"
         "      tcpServer: { address: " +
         loopback(local_server) +
         " }\n"
         "    remote:\n"
         "      connectionType: " +
         type +
         "\n"
         "      muxCount: " +
         std::to_string(sessions) +
         "\n"
         "      muxAddressInfo:\n"
         "        address: " +
         loopback(mux_port) +
         "\n"
         "        tls:\n" +
         tls;
}

std::string tls_yaml(const certificate_files& identity, const test_certificates& certs, bool client) {
  auto line = [](const char* key, const std::string& value) {
    return std::string("          ") + key + ": \"" + value + "\"\n";
  };
  return line("certificatePath", identity.certificate.string()) + line("keyPath", identity.private_key.string()) +
         line("remoteCAPath", certs.trusted.ca_certificate.string()) +
         (client ? line("caServerName", test_certificates::server_name) : "");
}

mux_pair start_mux_pair(const std::string& upstream, const test_certificates& certs,
                        const std::filesystem::path& scratch, int sessions,
                        const std::string& binary = S2S_PROXY_BINARY, const std::string& tag = "") {
  auto name = "mux-" + std::to_string(sessions) + tag;
  int mux_port = free_loopback_port(), outbound = free_loopback_port();
  auto nobody = "127.0.0.1:" + std::to_string(free_loopback_port());  // A's frontend: unused here
  write_file(scratch / (name + "-b.yaml"), mux_yaml("b-to-a", upstream, free_loopback_port(), "mux-server", mux_port,
                                                    sessions, tls_yaml(certs.trusted.server, certs, false)));
  write_file(scratch / (name + "-a.yaml"), mux_yaml("a-to-b", nobody, outbound, "mux-client", mux_port, sessions,
                                                    tls_yaml(certs.trusted.client, certs, true)));
  mux_pair pair;
  // At info level each side logs one line per session that comes up: that is what we wait for.
  pair.b = start_proxy(scratch / (name + "-b.yaml"), scratch / (name + "-b.log"), "info", binary);
  if (!pair.b->wait_for_output("ready", std::chrono::seconds(30)))
    fail("proxy B did not start");
  pair.a = start_proxy(scratch / (name + "-a.yaml"), scratch / (name + "-a.log"), "info", binary);
  auto sessions_up = [&] {
    return std::min(occurrences(pair.a->output(), " is up"), occurrences(pair.b->output(), " is up"));
  };
  for (int i = 0; i < 1200 && sessions_up() < static_cast<std::size_t>(sessions); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (sessions_up() < static_cast<std::size_t>(sessions))
    fail("only " + std::to_string(sessions_up()) + " of " + std::to_string(sessions) + " mux sessions came up");
  pair.target = "127.0.0.1:" + std::to_string(outbound);
  wait_until_serving(pair.target);
  return pair;
}

// Resident memory each proxy of the pair gains per bidi stream held open through it (each
// has echoed one 1 KiB message), in KiB: {A, B}.
std::pair<double, double> memory_per_open_stream(const mux_pair& pair, int streams) {
  auto stub = v1::EchoService::NewStub(make_channel(pair.target));
  v1::EchoRequest request;
  request.set_payload(pattern_payload(1024));
  // One stream first, so the channel and the call path are warm before the baseline.
  auto warm = call_bidi(*stub, {request});
  if (!warm.status.ok())
    fail("a bidi call through the mux pair failed: " + warm.status.error_message());
  double a_before = resident_kib(pair.a->pid()), b_before = resident_kib(pair.b->pid());
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReaderWriter<v1::EchoRequest, v1::EchoResponse>>> open;
  for (int i = 0; i < streams; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    open.push_back(stub->Bidi(contexts.back().get()));
    v1::EchoResponse response;
    if (!open.back()->Write(request) || !open.back()->Read(&response))
      fail("open stream " + std::to_string(i) + " failed");
  }
  double a_after = resident_kib(pair.a->pid()), b_after = resident_kib(pair.b->pid());
  for (auto& stream : open) {
    stream->WritesDone();
    stream->Finish();
  }
  return {(a_after - a_before) / streams, (b_after - b_before) / streams};
}

}  // namespace

int main(int argc, char** argv) {
  int unary_calls = argc > 1 ? std::atoi(argv[1]) : 5000;
  // A second argument scales the streaming runs (0 skips them).
  double stream_scale = argc > 2 ? std::atof(argv[2]) : 1.0;
  int small_count = static_cast<int>(20000 * stream_scale), large_count = static_cast<int>(200 * stream_scale);

  echo_server upstream;
  temp_dir scratch;
  // Starts a TCP-mode proxy whose outbound side forwards to `remote` (the upstream unless
  // given), with `extra` appended to its config, and waits until it serves; returns its
  // outbound address.
  // With `metrics_port`, the proxy serves /metrics on a port of its own, chosen here.
  auto launch = [&](const std::string& name, std::unique_ptr<process>& proxy, const std::string& remote = "",
                    int* metrics_port = nullptr, const std::string& binary = S2S_PROXY_BINARY) {
    int outbound = free_loopback_port();
    auto config = scratch / (name + ".yaml");
    auto yaml = tcp_proxy_yaml("bench", outbound, remote.empty() ? upstream.address() : remote);
    if (metrics_port) {
      // Ports are only free when chosen: keep clear of the ones the config already names.
      do
        *metrics_port = free_loopback_port();
      while (yaml.find(":" + std::to_string(*metrics_port) + "\"") != std::string::npos);
      yaml += "metrics:\n  prometheus:\n    listenAddress: \"127.0.0.1:" + std::to_string(*metrics_port) + "\"\n";
    }
    write_file(config, yaml);
    proxy = start_proxy(config, scratch / (name + ".log"), "warn", binary);
    auto target = "127.0.0.1:" + std::to_string(outbound);
    wait_until_serving(target);
    return target;
  };
  // S2S_BENCH_ONLY=tcp or =mux measures that mode alone (and the direct path).
  std::string only = std::getenv("S2S_BENCH_ONLY") ? std::getenv("S2S_BENCH_ONLY") : "";
  bool tcp_mode = only != "mux", mux_mode = only != "tcp";

  // Paths are compared in alternating rounds (S2S_BENCH_ROUNDS, 5 unless set), each round a
  // share of the counts above.
  int rounds = std::getenv("S2S_BENCH_ROUNDS") ? std::max(1, std::atoi(std::getenv("S2S_BENCH_ROUNDS"))) : 5;
  auto per_round = [&](int count) { return std::max(count / rounds, count > 0 ? 1 : 0); };
  auto path = [&](std::string target, std::vector<pid_t> proxies) {
    return std::function<path_figures()>([=, &per_round] {
      return measure(target, proxies, per_round(unary_calls), per_round(small_count), per_round(large_count));
    });
  };

  if (const char* callers = std::getenv("S2S_BENCH_CALLERS"))
    unary_callers = std::max(1, std::atoi(callers));
  std::printf("s2s-proxy benchmark: loopback, %u cores; %d alternating rounds, medians; %d unary caller%s\n",
              std::thread::hardware_concurrency(), rounds, unary_callers, unary_callers == 1 ? "" : "s");
  // S2S_BENCH_BASELINE names another build of the proxy binary: its proxy (and mux pair) joins
  // the rounds, so a change is measured against what it changes in one run, under the same drift.
  const char* baseline_binary = std::getenv("S2S_BENCH_BASELINE");
  // S2S_BENCH_NGHTTPX names an nghttpx binary (Debian nghttp2-proxy): a lean HTTP/2 proxy that
  // only relays frames (no gRPC framing, no translation, no actors) joins the TCP-mode rounds as
  // a reference for what forwarding alone costs here.
  const char* nghttpx_binary = std::getenv("S2S_BENCH_NGHTTPX");
  path_figures direct, proxied, baseline_proxied, nghttpx_proxied;
  std::unique_ptr<process> proxy, baseline_proxy, nghttpx_proxy;
  if (tcp_mode) {
    auto proxied_target = launch("proxy", proxy);
    std::vector<std::function<path_figures()>> paths = {path(upstream.address(), {}),
                                                        path(proxied_target, {proxy->pid()})};
    if (baseline_binary) {
      auto baseline_target = launch("proxy-baseline", baseline_proxy, "", nullptr, baseline_binary);
      paths.push_back(path(baseline_target, {baseline_proxy->pid()}));
    }
    if (nghttpx_binary) {
      // One process, one worker thread, h2 to the upstream; windows as large as the proxy's, so
      // that flow control does not set the pace of large messages.
      int outbound = free_loopback_port();
      nghttpx_proxy = std::make_unique<process>(
          process_options{{nghttpx_binary, "--conf=/dev/null", "--single-process", "--workers=1", "--no-via",
                           "--no-ocsp", "--frontend=127.0.0.1," + std::to_string(outbound) + ";no-tls",
                           "--backend=127.0.0.1," + std::to_string(upstream.port()) + ";;proto=h2",
                           "--frontend-http2-window-size=16777215", "--frontend-http2-connection-window-size=16777215",
                           "--backend-http2-window-size=16777215", "--backend-http2-connection-window-size=16777215",
                           "--errorlog-file=" + (scratch / "nghttpx.log").string()},
                          {},
                          scratch / "nghttpx.out",
                          {}});
      auto target = "127.0.0.1:" + std::to_string(outbound);
      wait_until_serving(target);
      paths.push_back(path(target, {nghttpx_proxy->pid()}));
    }
    auto figures = alternate(paths, rounds);
    direct = figures[0];
    proxied = figures[1];
    proxy->stop();
    if (baseline_binary) {
      baseline_proxied = figures[2];
      baseline_proxy->stop();
    }
    if (nghttpx_binary) {
      nghttpx_proxied = figures.back();
      nghttpx_proxy->stop();
    }
  }

  // With S2S_BENCH_SCRAPE: one proxy with /metrics on, measured in alternating rounds with its
  // /metrics scraped once a second throughout the round and without (order swapped each round).
  // One process for both, so what tells them apart is the scraping alone; drift in what else
  // the machine does falls on both alike. Figures are medians over the rounds.
  constexpr int scrape_rounds = 6;
  std::vector<path_figures> plain_rounds, metered_rounds;
  int scrapes = 0, failed_scrapes = 0;
  if (tcp_mode && std::getenv("S2S_BENCH_SCRAPE")) {
    std::unique_ptr<process> metered_proxy;
    int metrics_port = 0;
    auto metered_target = launch("proxy-metrics", metered_proxy, "", &metrics_port);
    std::atomic<bool> measuring = true, scraping = false;
    std::thread scraper([&] {
      auto url = "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics";
      while (measuring) {
        if (scraping) {
          process curl({{"curl", "-sf", "-o", "/dev/null", url}, {}, scratch / "curl.log", {}});
          (curl.wait_exit(std::chrono::seconds(5)) == 0 ? scrapes : failed_scrapes)++;
        }
        for (int i = 0; i < 10 && measuring; ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
    auto share = [](int count) { return std::max(count / scrape_rounds, count > 0 ? 1 : 0); };
    auto round_of = [&](bool scraped) {
      scraping = scraped;
      (scraped ? metered_rounds : plain_rounds)
          .push_back(measure(metered_target, {metered_proxy->pid()}, share(unary_calls), share(small_count),
                             share(large_count)));
      scraping = false;
    };
    for (int round = 0; round < scrape_rounds; ++round) {
      round_of(round % 2 == 1);
      round_of(round % 2 == 0);
    }
    measuring = false;
    scraper.join();
    metered_proxy->stop();
  }

  // Mux mode: a proxy pair with mutual TLS. Memory first, on fresh pairs: one session against
  // many idle ones, then bidi streams held open on the one-session pair.
  constexpr int many_sessions = 33, open_streams = 200;
  path_figures muxed, chained, direct_mux;  // direct_mux: the direct path of the mux rounds
  path_figures baseline_muxed;
  double one_a = 0, one_b = 0, many_a = 0, many_b = 0;
  std::pair<double, double> per_stream;
  if (mux_mode) {
    std::filesystem::create_directories(scratch / "certs");
    auto certs = make_test_certificates(scratch / "certs");
    auto pair = start_mux_pair(upstream.address(), certs, scratch.path(), 1);
    one_a = resident_kib(pair.a->pid());
    one_b = resident_kib(pair.b->pid());
    {
      auto many = start_mux_pair(upstream.address(), certs, scratch.path(), many_sessions);
      many_a = resident_kib(many.a->pid());
      many_b = resident_kib(many.b->pid());
      many.a->stop();
      many.b->stop();
    }
    per_stream = memory_per_open_stream(pair, open_streams);
    // The same two hops in TCP mode without TLS, to tell what mux adds from what two proxies cost.
    std::unique_ptr<process> first, second;
    auto second_target = launch("chain-b", second);
    auto first_target = launch("chain-a", first, second_target);
    std::vector<std::function<path_figures()>> paths = {path(upstream.address(), {}),
                                                        path(first_target, {first->pid(), second->pid()}),
                                                        path(pair.target, pair.pids())};
    mux_pair baseline;
    if (baseline_binary) {
      baseline = start_mux_pair(upstream.address(), certs, scratch.path(), 1, baseline_binary, "-baseline");
      paths.push_back(path(baseline.target, baseline.pids()));
    }
    auto figures = alternate(paths, rounds);
    direct_mux = figures[0];
    chained = figures[1];
    muxed = figures[2];
    if (baseline_binary) {
      baseline_muxed = figures[3];
      baseline.a->stop();
      baseline.b->stop();
    }
    first->stop();
    second->stop();
    pair.a->stop();
    pair.b->stop();
  }

  auto row = [](const char* name, double d, double p, const char* unit) {
    std::printf("%-28s %11.1f %-2s %11.1f %-2s %9.2fx\n", name, d, unit, p, unit, p / d);
  };
  if (tcp_mode) {
    std::printf("\nTCP mode: one proxy\n");
    std::printf("%-28s %14s %14s %10s\n", "measure", "direct", "proxied", "ratio");
    row("unary 1 KiB p50", direct.unary.p50_us, proxied.unary.p50_us, "us");
    row("unary 1 KiB p99", direct.unary.p99_us, proxied.unary.p99_us, "us");
    row("unary 1 KiB calls/s", direct.unary.calls_per_second, proxied.unary.calls_per_second, "/s");
    row("bidi 1 KiB messages/s", direct.small.messages_per_second, proxied.small.messages_per_second, "/s");
    row("bidi 1 KiB MB/s", direct.small.megabytes_per_second, proxied.small.megabytes_per_second, "");
    row("bidi 1 MiB messages/s", direct.large.messages_per_second, proxied.large.messages_per_second, "/s");
    row("bidi 1 MiB MB/s", direct.large.megabytes_per_second, proxied.large.megabytes_per_second, "");
    std::printf("\nproxy CPU per message: unary %.1f us, 1 KiB stream %.1f us, 1 MiB stream %.1f us\n",
                proxied.proxy_cpu_us_per_unary, proxied.proxy_cpu_us_per_small, proxied.proxy_cpu_us_per_large);
    std::printf("proxy context switches per unary call: %.1f\n", proxied.proxy_switches_per_unary);
    if (!plain_rounds.empty()) {
      std::printf(
          "\none proxy with /metrics on, in rounds scraped once a second (%d scrapes, %d failed) and not,\n"
          "%d alternating rounds, medians; the last column is the median of the per-round ratios\n",
          scrapes, failed_scrapes, scrape_rounds);
      std::printf("%-28s %14s %14s %10s %10s\n", "measure", "not scraped", "scraped", "ratio", "per-round");
      auto compare = [&](const char* name, auto pick, const char* unit) {
        std::vector<double> plain, metered, ratios;
        for (std::size_t i = 0; i < plain_rounds.size(); ++i) {
          plain.push_back(pick(plain_rounds[i]));
          metered.push_back(pick(metered_rounds[i]));
          ratios.push_back(metered.back() / plain.back());
        }
        double p = median(plain), m = median(metered);
        std::printf("%-28s %11.1f %-2s %11.1f %-2s %9.2fx %9.2fx\n", name, p, unit, m, unit, m / p, median(ratios));
      };
      compare(
          "unary 1 KiB p50", [](const path_figures& f) { return f.unary.p50_us; }, "us");
      compare(
          "unary 1 KiB calls/s", [](const path_figures& f) { return f.unary.calls_per_second; }, "/s");
      if (small_count > 0) {
        compare(
            "bidi 1 KiB MB/s", [](const path_figures& f) { return f.small.megabytes_per_second; }, "");
        compare(
            "bidi 1 MiB MB/s", [](const path_figures& f) { return f.large.megabytes_per_second; }, "");
      }
      compare(
          "proxy CPU us per unary", [](const path_figures& f) { return f.proxy_cpu_us_per_unary; }, "us");
    }
    std::printf("targets: unary p50 <= 2.5x direct (%.2fx); streaming >= 50%% of direct (1 KiB %.0f%%, 1 MiB %.0f%%)\n",
                proxied.unary.p50_us / direct.unary.p50_us,
                100.0 * proxied.small.megabytes_per_second / direct.small.megabytes_per_second,
                100.0 * proxied.large.megabytes_per_second / direct.large.megabytes_per_second);
  }
  // This build against another path of the same rounds: `other` says what it is, `column` heads its figures.
  auto against = [&](const char* what, const std::string& other, const char* column, const path_figures& b,
                     const path_figures& m) {
    std::printf("\n%s of this build against %s, in the same rounds\n", what, other.c_str());
    std::printf("%-28s %14s %14s %10s\n", "measure", column, "this build", "ratio");
    auto pair_row = [](const char* name, double x, double y, const char* unit) {
      std::printf("%-28s %11.1f %-2s %11.1f %-2s %9.2fx\n", name, x, unit, y, unit, y / x);
    };
    pair_row("unary 1 KiB p50", b.unary.p50_us, m.unary.p50_us, "us");
    pair_row("unary 1 KiB p99", b.unary.p99_us, m.unary.p99_us, "us");
    pair_row("unary 1 KiB calls/s", b.unary.calls_per_second, m.unary.calls_per_second, "/s");
    pair_row("bidi 1 KiB MB/s", b.small.megabytes_per_second, m.small.megabytes_per_second, "");
    pair_row("bidi 1 MiB MB/s", b.large.megabytes_per_second, m.large.megabytes_per_second, "");
    pair_row("CPU per unary call", b.proxy_cpu_us_per_unary, m.proxy_cpu_us_per_unary, "us");
    pair_row("CPU per 1 KiB message", b.proxy_cpu_us_per_small, m.proxy_cpu_us_per_small, "us");
    pair_row("CPU per 1 MiB message", b.proxy_cpu_us_per_large, m.proxy_cpu_us_per_large, "us");
    pair_row("switches per unary call", b.proxy_switches_per_unary, m.proxy_switches_per_unary, "");
  };
  auto baseline_build = [&] { return std::string("the baseline build ") + baseline_binary; };
  if (tcp_mode && baseline_binary)
    against("TCP-mode proxy", baseline_build(), "baseline", baseline_proxied, proxied);
  if (tcp_mode && nghttpx_binary)
    against("TCP-mode proxy", "nghttpx (frames relayed, one worker)", "reference", nghttpx_proxied, proxied);
  if (!mux_mode)
    return 0;

  std::printf(
      "\nmux mode: proxy pair (A mux-client, B mux-server), one yamux session, mutual TLS;\n"
      "TCP pair: two TCP-mode proxies chained, no TLS\n");
  std::printf("%-28s %14s %14s %14s %10s %10s\n", "measure", "direct", "TCP pair", "mux pair", "mux/direct", "mux/TCP");
  auto row3 = [](const char* name, double d, double t, double m, const char* unit) {
    std::printf("%-28s %11.1f %-2s %11.1f %-2s %11.1f %-2s %9.2fx %9.2fx\n", name, d, unit, t, unit, m, unit, m / d,
                m / t);
  };
  row3("unary 1 KiB p50", direct_mux.unary.p50_us, chained.unary.p50_us, muxed.unary.p50_us, "us");
  row3("unary 1 KiB p99", direct_mux.unary.p99_us, chained.unary.p99_us, muxed.unary.p99_us, "us");
  row3("unary 1 KiB calls/s", direct_mux.unary.calls_per_second, chained.unary.calls_per_second,
       muxed.unary.calls_per_second, "/s");
  row3("bidi 1 KiB messages/s", direct_mux.small.messages_per_second, chained.small.messages_per_second,
       muxed.small.messages_per_second, "/s");
  row3("bidi 1 KiB MB/s", direct_mux.small.megabytes_per_second, chained.small.megabytes_per_second,
       muxed.small.megabytes_per_second, "");
  row3("bidi 1 MiB messages/s", direct_mux.large.messages_per_second, chained.large.messages_per_second,
       muxed.large.messages_per_second, "/s");
  row3("bidi 1 MiB MB/s", direct_mux.large.megabytes_per_second, chained.large.megabytes_per_second,
       muxed.large.megabytes_per_second, "");
  std::printf(
      "\nTCP pair CPU per message: unary %.1f us, 1 KiB stream %.1f us, 1 MiB stream %.1f us; "
      "context switches per unary call: %.1f\n",
      chained.proxy_cpu_us_per_unary, chained.proxy_cpu_us_per_small, chained.proxy_cpu_us_per_large,
      chained.proxy_switches_per_unary);
  std::printf(
      "mux pair CPU per message: unary %.1f us, 1 KiB stream %.1f us, 1 MiB stream %.1f us; "
      "context switches per unary call: %.1f\n",
      muxed.proxy_cpu_us_per_unary, muxed.proxy_cpu_us_per_small, muxed.proxy_cpu_us_per_large,
      muxed.proxy_switches_per_unary);
  std::printf(
      "1 MiB streaming: cores busy (callers, echo server and proxies) direct %.2f, TCP pair %.2f, mux pair %.2f; "
      "callers and echo server CPU per message %.1f, %.1f, %.1f us\n",
      direct_mux.cores_busy_large, chained.cores_busy_large, muxed.cores_busy_large, direct_mux.caller_cpu_us_per_large,
      chained.caller_cpu_us_per_large, muxed.caller_cpu_us_per_large);
  std::printf("resident memory with 1 session: A %.0f KiB, B %.0f KiB; with %d: A %.0f KiB, B %.0f KiB\n", one_a, one_b,
              many_sessions, many_a, many_b);
  std::printf(
      "memory per idle session: A %.0f KiB, B %.0f KiB (each session: TLS, yamux, "
      "one HTTP/2 connection each way)\n",
      (many_a - one_a) / (many_sessions - 1), (many_b - one_b) / (many_sessions - 1));
  std::printf("memory per open bidi stream (%d held open on one session): A %.1f KiB, B %.1f KiB\n", open_streams,
              per_stream.first, per_stream.second);
  std::printf(
      "targets: unary p50 <= 3x direct (%.2fx) and <= 1.2x the TCP pair (%.2fx); 1 MiB streaming >= 60%% of direct "
      "(%.0f%%)\n",
      muxed.unary.p50_us / direct_mux.unary.p50_us, muxed.unary.p50_us / chained.unary.p50_us,
      100.0 * muxed.large.megabytes_per_second / direct_mux.large.megabytes_per_second);
  if (baseline_binary)
    against("mux pair", baseline_build(), "baseline", baseline_muxed, muxed);
  return 0;
}
