// A gRPC message's bytes as one string, and a message that owns a string's bytes without copying them.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <grpcpp/support/byte_buffer.h>

namespace s2s::rpc {

// The message's bytes in one string; empty when the buffer cannot be read.
inline std::string flatten(const grpc::ByteBuffer& message) {
  std::string bytes;
  std::vector<grpc::Slice> slices;
  if (!message.Dump(&slices).ok())
    return bytes;
  bytes.reserve(message.Length());
  for (const auto& slice : slices)
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  return bytes;
}

// A message that takes over `bytes`: rewritten messages carry whole history blobs.
inline grpc::ByteBuffer owning_buffer(std::string bytes) {
  auto* owned = new std::string(std::move(bytes));
  grpc::Slice slice(
      owned->data(), owned->size(), [](void* string) { delete static_cast<std::string*>(string); }, owned);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace s2s::rpc
