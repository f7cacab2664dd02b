// gRPC's message framing on a stream's DATA: a 1-byte compressed flag, a 4-byte big-endian length, the bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "http2/grpc_status.hpp"

namespace s2s::http2 {

inline constexpr std::size_t message_prefix_bytes = 5;
// Temporal's internode messages reach 128 MiB; a larger one is refused, not buffered.
inline constexpr std::size_t default_max_message_bytes = 128 * 1024 * 1024;

// One gRPC message. `compressed` is the flag byte as it came (0 or 1): the proxy passes
// compressed messages through without decompressing them.
struct grpc_message {
  std::uint8_t compressed = 0;
  std::vector<std::uint8_t> payload;
};

std::array<std::uint8_t, message_prefix_bytes> message_prefix(std::uint8_t compressed, std::uint32_t length);
// Appends the prefix and the payload to `out`, ready for connection::send_data().
void append_message(std::vector<std::uint8_t>& out, std::uint8_t compressed, std::span<const std::uint8_t> payload);

// Reassembles messages from DATA chunks split anywhere, prefix included.
class message_reader {
 public:
  explicit message_reader(std::size_t max_message_bytes = default_max_message_bytes);

  // Takes bytes in order; nothing, or the status the call must end with (RESOURCE_EXHAUSTED for a
  // message over the limit, decided from its prefix; INTERNAL for a flag other than 0 or 1).
  // After an error the reader takes nothing more and returns the same error.
  std::optional<status> feed(std::span<const std::uint8_t> bytes);
  // The oldest complete message, or nothing.
  std::optional<grpc_message> next();
  // Whether a complete message waits to be taken with next().
  bool has_message() const { return taken_ < ready_.size(); }
  // At end of stream: INTERNAL when a message was cut short.
  std::optional<status> finish() const;
  // Bytes of the incomplete message held so far, prefix included.
  std::size_t partial_bytes() const { return prefix_size_ + current_.payload.size(); }
  // Bytes allocated for the incomplete message's payload (at most eight times what came of it, or
  // the whole message once its first MiB is in).
  std::size_t partial_capacity() const { return current_.payload.capacity(); }

 private:
  std::size_t max_;
  std::array<std::uint8_t, message_prefix_bytes> prefix_{};
  std::size_t prefix_size_ = 0;
  std::size_t expected_ = 0;  // payload length of the current message, once its prefix is in
  grpc_message current_;
  // Complete messages from `taken_` on; a vector and an index, as a call holds few at a time and
  // an empty deque would cost two allocations per reader.
  std::vector<grpc_message> ready_;
  std::size_t taken_ = 0;
  std::optional<status> error_;
};

}  // namespace s2s::http2
