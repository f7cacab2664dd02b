// The s2s-proxy command line: start the proxy, or validate a config.
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/proxy.hpp"
#include "actors/runtime/runtime.hpp"
#include "app/operations.hpp"
#include "app/reload.hpp"
#include "app/service_manager.hpp"
#include "config/config.hpp"
#include "log/log.hpp"
#include "net/event_loop.hpp"

#ifndef S2S_VERSION
#define S2S_VERSION "0.0.0"
#endif

namespace {

constexpr const char* usage = R"(s2s-proxy: a server-to-server proxy for Temporal.

Usage:
  s2s-proxy start --config FILE [--level debug|info|warn|error] [--drain SECONDS]
  s2s-proxy validate --config FILE
  s2s-proxy --version
  s2s-proxy --help

start     serves every cluster connection of the config until SIGINT or SIGTERM, which
          stop accepting calls, end open streams with UNAVAILABLE, and let unary
          calls in flight finish for up to --drain seconds (10 by default; 0
          cancels them at once) before exiting 0;
          SIGHUP reads the config again and applies its logging, translation and
          aclPolicy settings; other changes are logged and wait for a restart.
          Under systemd (Type=notify, NOTIFY_SOCKET set) it reports when it is ready,
          reloading and stopping, and sends watchdog pings (WATCHDOG_USEC) while its
          actors answer.
validate  checks the config completely; prints a one-line summary, or every problem
          with its key path, line and column, and exits non-zero.
)";

// How long a stop lets calls in flight finish before cancelling them, unless --drain says.
constexpr std::chrono::milliseconds default_drain{10000};
// The longest --drain accepted: a day.
constexpr double max_drain_seconds = 86400;

// How long the actors may take to end once the supervisor has stopped (a connection's close, a
// session's go-away) before the process exits without them.
constexpr std::chrono::milliseconds actors_end_bound{5000};

// Waits, up to actors_end_bound, until no actor of the proxy runs; says whether none does.
bool await_actors_ended() {
  const auto bound = std::chrono::steady_clock::now() + actors_end_bound;
  while (s2s::actors::census::total() > 0) {
    if (std::chrono::steady_clock::now() >= bound)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

struct arguments {
  std::string command;
  std::string config_path;
  std::string level;  // empty: the config's logging.level, else info
  std::string drain;  // empty: default_drain
};

// "--drain" in seconds (decimals allowed), or nothing when it is not a number in range.
std::optional<std::chrono::milliseconds> parse_drain(const std::string& text) {
  if (text.empty())
    return default_drain;
  char* end = nullptr;
  double seconds = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !(seconds >= 0 && seconds <= max_drain_seconds))
    return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

// A test hook: with S2S_TEST_HOOK_HANG_ON_SIGUSR1 set (to anything but empty), SIGUSR1 makes the
// supervisor block for good (test_hang_atom), so a test can see the watchdog's pings stop. Without
// it, as in service, SIGUSR1 keeps its default action.
bool test_hook_hang_on_sigusr1() {
  const char* set = std::getenv("S2S_TEST_HOOK_HANG_ON_SIGUSR1");
  return set != nullptr && *set != '\0';
}

// A test hook: S2S_TEST_HOOK_KILL_ON_SIGUSR2 names supervised children, separated by commas (a
// child's name, as "a-to-b outbound upstream", or a kind, as "schema"); each SIGUSR2 makes the
// supervisor kill them (test_kill_atom), so a test can see them come back while the proxy serves.
// Never set in service: without it, SIGUSR2 keeps its default action.
std::vector<std::string> test_hook_kill_on_sigusr2() {
  std::vector<std::string> names;
  const char* set = std::getenv("S2S_TEST_HOOK_KILL_ON_SIGUSR2");
  std::string_view left = set ? set : "";
  while (!left.empty()) {
    auto comma = left.find(',');
    auto name = left.substr(0, comma);
    if (!name.empty())
      names.emplace_back(name);
    left = comma == std::string_view::npos ? std::string_view() : left.substr(comma + 1);
  }
  return names;
}

int usage_error(const std::string& message) {
  std::cerr << "s2s-proxy: " << message << "\n\n" << usage;
  return 2;
}

std::optional<s2s::config::config> load(const std::string& path) {
  auto loaded = s2s::config::load_file(path);
  if (loaded.errors.empty())
    return std::move(loaded.value);
  std::cerr << path << ": " << loaded.errors.size() << " problem" << (loaded.errors.size() == 1 ? "" : "s") << ":\n";
  for (const auto& problem : loaded.errors)
    std::cerr << "  " << problem.to_string() << "\n";
  return std::nullopt;
}

int validate(const arguments& args) {
  auto config = load(args.config_path);
  if (!config)
    return 1;
  std::cout << s2s::config::summarize(*config) << "\n";
  return 0;
}

// SIGHUP: applies what the config file as it is now changes without a restart (logging,
// translation and access policy); `running` is the config in force. A file with problems changes
// nothing; the proxy keeps running either way.
void reload(const arguments& args, s2s::config::config& running, s2s::actors::translation_setup& translators,
            std::optional<s2s::log::level> command_line) {
  auto loaded = s2s::config::load_file(args.config_path);
  if (!loaded.errors.empty()) {
    s2s::log::error("proxy", "SIGHUP: " + args.config_path + " not reloaded: " + std::to_string(loaded.errors.size()) +
                                 " problem(s), the first: " + loaded.errors.front().to_string());
    return;
  }
  s2s::app::apply_reload(running, *loaded.value, translators, command_line, args.config_path);
}

int start(const arguments& args) {
  auto drain = parse_drain(args.drain);
  if (!drain)
    return usage_error("--drain takes seconds from 0 to 86400, not '" + args.drain + "'");
  std::optional<s2s::log::level> level;
  if (!args.level.empty()) {
    level = s2s::log::parse_level(args.level);
    if (!level)
      return usage_error("unknown level '" + args.level + "' (use debug, info, warn or error)");
    s2s::log::set_level(*level);
  }
  auto config = load(args.config_path);
  if (!config)
    return 1;
  // Throttling starts once the proxy is ready: the lines that say what it serves are few, and
  // an operator needs every one of them.
  auto logging = s2s::app::log_settings(*config, level);
  auto unthrottled = logging;
  unthrottled.defaults.max_lines_per_second = 0;
  for (auto& [component, settings] : unthrottled.components)
    settings.max_lines_per_second = 0;
  s2s::log::configure(unthrottled.defaults, std::move(unthrottled.components));

  // Every thread started from here on inherits the blocked signals; main waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  const bool hang_on_sigusr1 = test_hook_hang_on_sigusr1();
  if (hang_on_sigusr1) {
    sigaddset(&signals, SIGUSR1);
    s2s::log::warn("proxy", "test hook S2S_TEST_HOOK_HANG_ON_SIGUSR1 is set: SIGUSR1 hangs the supervisor");
  }
  const auto kill_on_sigusr2 = test_hook_kill_on_sigusr2();
  if (!kill_on_sigusr2.empty()) {
    sigaddset(&signals, SIGUSR2);
    s2s::log::warn("proxy", "test hook S2S_TEST_HOOK_KILL_ON_SIGUSR2 is set: SIGUSR2 kills supervised children");
  }
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  caf::actor_system_config actor_config;
  s2s::actors::tune_scheduler(actor_config);
  if (auto problems = s2s::actors::prepare_actor_system(actor_config, *config); !problems.empty()) {
    std::string all;
    for (const auto& problem : problems)
      all += "\n" + problem;
    s2s::log::error("proxy", "cannot start:" + all);
    return 1;
  }
  caf::actor_system system{actor_config};

  auto metrics = std::make_shared<s2s::metrics::proxy_metrics>();
  s2s::actors::proxy_options options;
  options.observe_calls = [metrics](std::string_view listener_name) { return metrics->observe_calls(listener_name); };
  options.observe_translation = metrics->translation.observer();
  options.observe_routing = metrics->routing.observer();
  auto started = s2s::actors::start_proxy(system, *config, options);
  if (auto* problem = std::get_if<std::string>(&started)) {
    s2s::log::error("proxy", "cannot start:\n" + *problem);
    return 1;
  }
  auto& proxy = std::get<s2s::actors::started_proxy>(started);
  s2s::app::operations_options operated_options;
  operated_options.translation = proxy.translation;
  auto operated = s2s::app::start_operations(system, *config, proxy.supervisor, metrics, operated_options);
  if (auto* problem = std::get_if<std::string>(&operated)) {
    s2s::log::error("proxy", "cannot start:\n" + *problem);
    caf::scoped_actor self{system};
    self->request(proxy.supervisor, std::chrono::seconds(10), s2s::actors::stop_atom::value,
                  std::chrono::milliseconds(0))
        .receive([](bool) {}, [](caf::error&) {});
    return 1;
  }
  auto& operations = std::get<s2s::app::operations>(operated);
  for (const auto& endpoint : proxy.report.endpoints)
    s2s::log::info("proxy", endpoint.name + " serving on " + endpoint.address);
  if (operations.exposer)
    s2s::log::info("proxy", "metrics on " + config->metrics_listen_address->to_string() + "/metrics");
  for (const auto& [name, server] : operations.health)
    s2s::log::info("proxy", name + " side: /health on port " + std::to_string(server->port()));
  if (operations.debug)
    s2s::log::info("proxy", "debug on " + config->pprof_address->to_string() + "/debug/connections");
  s2s::log::info("proxy", "ready");
  s2s::log::configure(logging.defaults, std::move(logging.components));
  s2s::app::notify_ready();
  // Pings go on until the stop is done, for a service manager that still watches while calls
  // drain; the watchdog ends before the actor system does.
  std::optional<s2s::app::watchdog> watchdog;
  watchdog.emplace(system, proxy.supervisor);

  // Waits for a stop signal; meanwhile, once a second, reports log lines the throttle dropped.
  int received = 0;
  const timespec tick{1, 0};
  while ((received = sigtimedwait(&signals, nullptr, &tick)) < 0 || received == SIGHUP ||
         (hang_on_sigusr1 && received == SIGUSR1) || (!kill_on_sigusr2.empty() && received == SIGUSR2)) {
    if (received == SIGHUP) {
      s2s::app::notify_reloading();
      reload(args, *config, *proxy.translation, level);
      s2s::app::notify_ready();
    } else if (received == SIGUSR1) {
      caf::anon_send(proxy.supervisor, s2s::actors::test_hang_atom::value);
    } else if (received == SIGUSR2) {
      for (const auto& name : kill_on_sigusr2)
        caf::anon_send(proxy.supervisor, s2s::actors::test_kill_atom::value, name);
    } else {
      s2s::log::report_dropped_lines();
    }
  }
  s2s::app::notify_stopping();
  s2s::log::info("proxy", std::string("received ") + strsignal(received) + ", stopping; calls in flight get " +
                              std::to_string(drain->count()) + " ms to finish");
  caf::scoped_actor self{system};
  bool stopped = false;
  self->request(proxy.supervisor, *drain + std::chrono::seconds(10), s2s::actors::stop_atom::value, *drain)
      .receive([&](bool) { stopped = true; },
               [&](caf::error& err) { s2s::log::error("proxy", "stop failed: " + system.render(err)); });
  watchdog.reset();
  // The children end after the supervisor answered, and some (mux sessions, calls) only once their
  // connections have closed on the event loops: the loops run until every actor has ended.
  const bool all_ended = await_actors_ended();
  if (!all_ended)
    s2s::log::error("proxy", "still running " + std::to_string(actors_end_bound.count()) + " ms after the stop: " +
                                 s2s::actors::census::describe_live() + "; exiting without them");
  s2s::log::info("proxy", "stopped");
  s2s::net::event_loops::halt();
  if (!all_ended)
    std::_Exit(1);  // the actor system's end would wait for them for good
  return stopped ? 0 : 1;
}

// The soft limit on open files raised to the hard one, as Go programs (the Go s2s-proxy among them)
// do at start: a mux-server holds an fd for every connection it is still admitting, and a soft
// limit of 1024 would refuse connections long before the admission bounds do.
void raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int main(int argc, char** argv) {
  s2s::actors::tune_allocator();
  raise_open_file_limit();
  std::vector<std::string> words(argv + 1, argv + argc);
  if (words.empty())
    return usage_error("a command is required");
  arguments args;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const auto& word = words[i];
    if (word == "--help" || word == "-h") {
      std::cout << usage;
      return 0;
    }
    if (word == "--version") {
      std::cout << "s2s-proxy " << S2S_VERSION << "\n";
      return 0;
    }
    const std::pair<const char*, std::string*> valued[] = {
        {"--config", &args.config_path}, {"--level", &args.level}, {"--drain", &args.drain}};
    bool taken = false;
    for (const auto& [name, value] : valued) {
      if (word == name) {
        if (i + 1 == words.size())
          return usage_error(word + " needs a value");
        *value = words[++i];
        taken = true;
      } else if (word.starts_with(std::string(name) + "=")) {
        *value = word.substr(std::string(name).size() + 1);
        taken = true;
      }
    }
    if (taken)
      continue;
    if (args.command.empty() && !word.starts_with("-")) {
      args.command = word;
    } else {
      return usage_error("unexpected argument '" + word + "'");
    }
  }
  if (args.command != "start" && args.command != "validate")
    return usage_error(args.command.empty() ? "a command is required" : "unknown command '" + args.command + "'");
  if (args.config_path.empty())
    return usage_error(args.command + " needs --config FILE");
  return args.command == "start" ? start(args) : validate(args);
}
