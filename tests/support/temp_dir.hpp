// A fresh directory for one test's files, removed with everything in it when the test ends.
#pragma once

#include <filesystem>
#include <string>

namespace s2s::testing {

class temp_dir {
 public:
  // Created under $TMPDIR (or /tmp) as <prefix>XXXXXX; throws std::runtime_error on failure.
  explicit temp_dir(const std::string& prefix = "s2s-test-");
  ~temp_dir();
  temp_dir(temp_dir&& other) noexcept;
  temp_dir& operator=(temp_dir&& other) noexcept;
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  void remove() noexcept;

  std::filesystem::path path_;
};

}  // namespace s2s::testing
