// The service manager's end of NOTIFY_SOCKET, for tests that run the proxy binary as systemd would.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace s2s::testing {

// A unix datagram socket bound to a path, each datagram one notification ("READY=1",
// "WATCHDOG=1", ...). Throws std::runtime_error when the socket cannot be made or bound.
class notify_socket {
 public:
  explicit notify_socket(std::filesystem::path path);
  ~notify_socket();
  notify_socket(const notify_socket&) = delete;
  notify_socket& operator=(const notify_socket&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // The next notification, or nothing if none comes within the timeout.
  std::optional<std::string> next(std::chrono::milliseconds timeout);

  // Every notification up to the first one that starts with `prefix`, that one included; the
  // last is not it when it did not come within the timeout.
  std::vector<std::string> until(const std::string& prefix, std::chrono::milliseconds timeout);

  // Every notification that comes within `window`.
  std::vector<std::string> during(std::chrono::milliseconds window);

 private:
  std::vector<std::string> collect(std::chrono::milliseconds timeout, const std::optional<std::string>& last);

  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace s2s::testing
