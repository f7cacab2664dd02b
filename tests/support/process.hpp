// A child process for tests that run the proxy binary or a peer program, with its output in a file.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace s2s::testing {

struct process_options {
  // argv[0] is looked up on PATH when it has no slash.
  std::vector<std::string> argv;
  // Set in the child on top of this process's environment, replacing variables of the same name.
  std::vector<std::pair<std::string, std::string>> environment;
  // Receives both stdout and stderr, in the order the child wrote them.
  std::filesystem::path output_file;
  // Empty: the child starts in this process's working directory.
  std::filesystem::path working_directory;
};

// The child leads a process group of its own, and signals go to the whole group, so programs
// that start helpers of their own (`go run`) are stopped with them.
class process {
 public:
  // Throws std::runtime_error when the program cannot be started.
  explicit process(process_options options);
  // A child still running is killed (SIGKILL) and reaped.
  ~process();
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();

  // The exit code once the child exits, or nothing if it still runs after the timeout.
  // A child ended by a signal reports 128 + the signal number, as a shell would.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // Does nothing once the child has been reaped, so a reused pid is never signalled.
  void send_signal(int signal);
  // SIGTERM, then SIGKILL if the child has not exited within the grace; returns the exit code.
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

  // Everything the child has written so far.
  std::string output() const;
  // True once the output contains the text; false if it did not appear in time or the child
  // exited without writing it.
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout);

 private:
  bool reap(bool block);

  process_options options_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// What /proc says of a running process (0 once it is gone): its resident memory in bytes, the CPU
// time it has used (user and system, in seconds), and its open file descriptors.
std::size_t resident_bytes(pid_t pid);
double cpu_seconds(pid_t pid);
std::size_t open_fds(pid_t pid);

}  // namespace s2s::testing
