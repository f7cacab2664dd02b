// What the seed corpus writers share: a byte script built one field at a time, and the loop that
// writes the seeds to files.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace s2s::fuzz_seeds {

using bytes = std::vector<std::uint8_t>;
using seed_list = std::vector<std::pair<std::string, bytes>>;

// The fields of a fuzz input; a writer's script adds its own ops and returns itself from each.
template <class Self>
struct byte_script {
  bytes data;
  Self& u8(std::uint8_t v) {
    data.push_back(v);
    return static_cast<Self&>(*this);
  }
  Self& u16(std::uint16_t v) { return u8(static_cast<std::uint8_t>(v >> 8)).u8(static_cast<std::uint8_t>(v)); }
};

// The output directory, the writer's one argument; exits with its usage otherwise.
inline std::string output_dir(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    std::exit(2);
  }
  return argv[1];
}

// Writes each seed to dir/name: 0, or 1 after saying which file could not be written.
inline int write_seeds(const std::string& dir, const seed_list& seeds) {
  for (const auto& [name, data] : seeds) {
    std::ofstream file(dir + "/" + name, std::ios::binary);
    file.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    if (!file) {
      std::fprintf(stderr, "cannot write %s/%s\n", dir.c_str(), name.c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace s2s::fuzz_seeds
