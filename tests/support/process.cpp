// Spawning, watching and stopping a child process with posix_spawn and waitpid.
#include "support/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/files.hpp"

extern char** environ;

namespace s2s::testing {
namespace {

// Often enough that a test waiting on a child loses little time, rarely enough to cost nothing.
constexpr std::chrono::milliseconds poll_interval{10};

std::vector<std::string> child_environment(const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> entries;
  for (char** entry = environ; *entry; ++entry) {
    std::string_view text(*entry);
    bool replaced = false;
    for (const auto& [name, value] : overrides)
      replaced =
          replaced || (text.size() > name.size() && text.substr(0, name.size()) == name && text[name.size()] == '=');
    if (!replaced)
      entries.emplace_back(text);
  }
  for (const auto& [name, value] : overrides)
    entries.push_back(name + "=" + value);
  return entries;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> result;
  for (auto& text : strings)
    result.push_back(text.data());
  result.push_back(nullptr);
  return result;
}

std::string describe(const std::vector<std::string>& argv) {
  std::string text;
  for (const auto& argument : argv)
    text += (text.empty() ? "" : " ") + argument;
  return text;
}

}  // namespace

process::process(process_options options) : options_(std::move(options)) {
  if (options_.argv.empty())
    throw std::runtime_error("process: no program to run");
  if (options_.output_file.empty())
    throw std::runtime_error("process: no output file for " + describe(options_.argv));

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, options_.output_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  if (!options_.working_directory.empty())
    posix_spawn_file_actions_addchdir_np(&actions, options_.working_directory.c_str());

  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attributes, 0);
  // The child starts with default handlers and nothing blocked, whatever the test runner set.
  sigset_t signals;
  sigemptyset(&signals);
  posix_spawnattr_setsigmask(&attributes, &signals);
  sigfillset(&signals);
  posix_spawnattr_setsigdefault(&attributes, &signals);

  std::vector<std::string> argv = options_.argv;
  std::vector<std::string> environment = child_environment(options_.environment);
  auto argv_pointers = pointers(argv);
  auto environment_pointers = pointers(environment);
  int error =
      posix_spawnp(&pid_, argv[0].c_str(), &actions, &attributes, argv_pointers.data(), environment_pointers.data());
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0)
    throw std::runtime_error("cannot start " + describe(options_.argv) + ": " + std::strerror(error));
}

process::~process() {
  if (!exit_code_) {
    send_signal(SIGKILL);
    reap(true);
  }
}

bool process::reap(bool block) {
  if (exit_code_)
    return true;
  int status = 0;
  pid_t result;
  do
    result = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  while (result < 0 && errno == EINTR);
  if (result != pid_)
    return false;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return true;
}

bool process::running() { return !reap(false); }

std::optional<int> process::wait_exit(std::chrono::milliseconds timeout) {
  auto give_up = std::chrono::steady_clock::now() + timeout;
  while (!reap(false)) {
    if (std::chrono::steady_clock::now() >= give_up)
      return std::nullopt;
    std::this_thread::sleep_for(poll_interval);
  }
  return exit_code_;
}

void process::send_signal(int signal) {
  if (!exit_code_)
    ::kill(-pid_, signal);
}

int process::stop(std::chrono::milliseconds grace) {
  send_signal(SIGTERM);
  if (auto code = wait_exit(grace))
    return *code;
  send_signal(SIGKILL);
  reap(true);
  return *exit_code_;
}

std::string process::output() const { return read_file(options_.output_file); }

bool process::wait_for_output(const std::string& text, std::chrono::milliseconds timeout) {
  auto give_up = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // Checked once more after the child exits, for what it wrote just before.
    bool exited = !running();
    if (output().find(text) != std::string::npos)
      return true;
    if (exited || std::chrono::steady_clock::now() >= give_up)
      return false;
    std::this_thread::sleep_for(poll_interval);
  }
}

std::size_t resident_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stoull(line.substr(6)) * 1024;
  return 0;
}

double cpu_seconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // The command name, field 2, is in parentheses and may hold spaces: count from after it.
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  unsigned long long user = 0, system = 0;
  // Fields 3 to 13 come first; utime and stime are fields 14 and 15.
  for (int index = 3; index <= 15 && fields >> field; ++index) {
    if (index == 14)
      user = std::stoull(field);
    if (index == 15)
      system = std::stoull(field);
  }
  return static_cast<double>(user + system) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::size_t open_fds(pid_t pid) {
  std::error_code error;
  std::size_t count = 0;
  for (std::filesystem::directory_iterator entry("/proc/" + std::to_string(pid) + "/fd", error), end;
       !error && entry != end; entry.increment(error))
    ++count;
  return count;
}

}  // namespace s2s::testing
