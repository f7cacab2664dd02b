// Test helpers: a fresh temporary directory per test, and assertions about reported problems.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "support/certs.hpp"

namespace s2s::config::testing {

// A minimal valid file; its line numbers are referred to by tests that append to it.
inline constexpr std::string_view minimal_tcp_config = R"(clusterConnections:
  - name: a-to-b
    local:
      connectionType: tcp
      tcpClient: {address: "127.0.0.1:7233"}
      tcpServer: {address: "127.0.0.1:6233"}
    remote:
      connectionType: tcp
      tcpClient: {address: "127.0.0.1:7234"}
      tcpServer: {address: "127.0.0.1:6234"}
)";

class config_files : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pattern = (std::filesystem::temp_directory_path() / "s2s-config-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    directory_ = pattern;
  }

  void TearDown() override { std::filesystem::remove_all(directory_); }

  // Writes content to name inside the temporary directory and returns its full path.
  std::string write(const std::string& name, std::string_view content) const {
    auto path = directory_ / name;
    std::ofstream(path) << content;
    return path.string();
  }

  // text with every "{dir}" replaced by the temporary directory.
  std::string in_directory(std::string text) const {
    for (auto at = text.find("{dir}"); at != std::string::npos; at = text.find("{dir}"))
      text.replace(at, 5, directory_.string());
    return text;
  }

  const std::filesystem::path& directory() const { return directory_; }

  // proxy.pem and proxy.key, a certificate and its key, and ca.pem, the CA that signed it: the loader loads
  // them as start does. Returns every certificate made, for tests that need another one.
  s2s::testing::test_certificates write_tls_files() const {
    auto made = s2s::testing::make_test_certificates(directory_);
    std::filesystem::copy_file(made.trusted.server.certificate, directory_ / "proxy.pem");
    std::filesystem::copy_file(made.trusted.server.private_key, directory_ / "proxy.key");
    std::filesystem::copy_file(made.trusted.ca_certificate, directory_ / "ca.pem");
    return made;
  }

 private:
  std::filesystem::path directory_;
};

// Every problem of result, one per line, for failure messages.
inline std::string listing(const load_result& result) {
  std::string text;
  for (const auto& problem : result.errors)
    text += "  " + problem.to_string() + "\n";
  return text.empty() ? "  (no problems)\n" : text;
}

// Passes when result reports a problem at path, line and column whose message contains words,
// and whose printed form names the path, line and column.
inline ::testing::AssertionResult reports(const load_result& result, const std::string& path, int line, int column,
                                          std::string_view words) {
  for (const auto& problem : result.errors) {
    if (problem.path != path || problem.line != line || problem.column != column)
      continue;
    if (problem.message.find(words) == std::string::npos)
      return ::testing::AssertionFailure()
             << "the problem at " << path << " says \"" << problem.message << "\", without \"" << words << "\"";
    auto printed = problem.to_string();
    auto location = path + " (line " + std::to_string(line) + ", column " + std::to_string(column) + ")";
    if (printed.find(location) == std::string::npos)
      return ::testing::AssertionFailure() << "printed as \"" << printed << "\", without \"" << location << "\"";
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "no problem at " << path << " (line " << line << ", column " << column
                                       << "); reported:\n"
                                       << listing(result);
}

}  // namespace s2s::config::testing
