// Test support for actor tests: grpc::ByteBuffer to and from text.
#pragma once

#include <string>
#include <vector>

#include <grpcpp/support/byte_buffer.h>

namespace s2s::actors::testing {

inline grpc::ByteBuffer bytes(const std::string& text) {
  grpc::Slice slice(text);
  return grpc::ByteBuffer(&slice, 1);
}

inline std::string text(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  (void)buffer.Dump(&slices);
  std::string out;
  for (auto& slice : slices)
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  return out;
}

}  // namespace s2s::actors::testing
