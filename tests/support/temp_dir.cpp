// Creation with mkdtemp and recursive removal of a test's directory.
#include "support/temp_dir.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace s2s::testing {

temp_dir::temp_dir(const std::string& prefix) {
  const char* root = std::getenv("TMPDIR");
  std::string pattern = (std::filesystem::path(root && *root ? root : "/tmp") / (prefix + "XXXXXX")).string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (!::mkdtemp(buffer.data()))
    throw std::runtime_error("cannot create a directory like " + pattern + ": " + std::strerror(errno));
  path_ = buffer.data();
}

temp_dir::~temp_dir() { remove(); }

temp_dir::temp_dir(temp_dir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }

temp_dir& temp_dir::operator=(temp_dir&& other) noexcept {
  if (this != &other) {
    remove();
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

void temp_dir::remove() noexcept {
  if (path_.empty())
    return;
  // A leftover directory must not fail a test that already has its verdict.
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
  path_.clear();
}

}  // namespace s2s::testing
