// Test helper: runs the hashicorp/yamux peer program as a child process and reads what it prints.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace s2s::yamux::testing {

class peer_process {
 public:
  // Starts `program` with `args`; its stdout is captured, its stderr is inherited.
  peer_process(const std::string& program, const std::vector<std::string>& args);
  // Kills the child by its pid if it is still running, and reaps it.
  ~peer_process();
  peer_process(const peer_process&) = delete;
  peer_process& operator=(const peer_process&) = delete;

  // The next line of stdout, or nothing if none arrives in time or the child closed it.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  // The exit status once the child exits, or nothing if it is still running after `timeout`.
  // A child killed by a signal reports 128 + the signal number.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // Everything printed to stdout so far (read_line, wait_exit and collect_output gather it).
  const std::string& output() const { return output_; }
  // Gathers what the child printed since, without waiting.
  const std::string& collect_output() {
    read_available(std::chrono::milliseconds(0));
    return output_;
  }

 private:
  void read_available(std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string output_;
  std::size_t line_start_ = 0;
  std::optional<int> exit_status_;
};

}  // namespace s2s::yamux::testing
