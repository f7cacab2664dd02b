// Whole-file reads and writes for test fixtures: certificates, configs, captured output.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace s2s::testing {

// Both throw std::runtime_error naming the path when the file cannot be read or written.
std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, std::string_view content);

}  // namespace s2s::testing
