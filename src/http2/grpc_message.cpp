// The 5-byte message framing both ways.
#include "http2/grpc_message.hpp"

#include <algorithm>

namespace s2s::http2 {
namespace {

constexpr std::size_t reserve_after_bytes = 1024 * 1024;

}  // namespace

std::array<std::uint8_t, message_prefix_bytes> message_prefix(std::uint8_t compressed, std::uint32_t length) {
  return {compressed, static_cast<std::uint8_t>(length >> 24), static_cast<std::uint8_t>(length >> 16),
          static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length)};
}

void append_message(std::vector<std::uint8_t>& out, std::uint8_t compressed, std::span<const std::uint8_t> payload) {
  const auto prefix = message_prefix(compressed, static_cast<std::uint32_t>(payload.size()));
  out.insert(out.end(), prefix.begin(), prefix.end());
  out.insert(out.end(), payload.begin(), payload.end());
}

message_reader::message_reader(std::size_t max_message_bytes) : max_(max_message_bytes) {}

std::optional<status> message_reader::feed(std::span<const std::uint8_t> bytes) {
  while (!error_ && !bytes.empty()) {
    if (prefix_size_ < message_prefix_bytes) {
      const std::size_t n = std::min(message_prefix_bytes - prefix_size_, bytes.size());
      std::copy_n(bytes.begin(), n, prefix_.begin() + static_cast<std::ptrdiff_t>(prefix_size_));
      prefix_size_ += n;
      bytes = bytes.subspan(n);
      if (prefix_size_ < message_prefix_bytes)
        break;
      expected_ = (std::size_t{prefix_[1]} << 24) | (std::size_t{prefix_[2]} << 16) | (std::size_t{prefix_[3]} << 8) |
                  prefix_[4];
      if (prefix_[0] > 1) {
        error_ = status{status_code::internal,
                        "gRPC message with compressed flag " + std::to_string(prefix_[0]) + " (only 0 and 1 exist)"};
        break;
      }
      if (expected_ > max_) {
        error_ = status{status_code::resource_exhausted, "gRPC message of " + std::to_string(expected_) +
                                                             " bytes is larger than the limit of " +
                                                             std::to_string(max_) + " bytes"};
        break;
      }
      current_.compressed = prefix_[0];
    }
    const std::size_t n = std::min(expected_ - current_.payload.size(), bytes.size());
    // A message gets its whole buffer once an eighth of it (or its first MiB) is in: one
    // allocation of the final size, not a doubling series that copies it again and whose middle
    // sizes stay in the allocator's heaps afterwards. Only bytes that really came earn it, so an
    // announced length alone reserves nothing.
    const std::size_t held = current_.payload.size() + n;
    if (current_.payload.capacity() < expected_ && (held >= reserve_after_bytes || held * 8 >= expected_))
      current_.payload.reserve(expected_);
    current_.payload.insert(current_.payload.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    bytes = bytes.subspan(n);
    if (current_.payload.size() == expected_) {
      ready_.push_back(std::move(current_));
      current_ = {};
      prefix_size_ = 0;
      expected_ = 0;
    }
  }
  return error_;
}

std::optional<grpc_message> message_reader::next() {
  if (taken_ == ready_.size())
    return std::nullopt;
  auto m = std::move(ready_[taken_++]);
  if (taken_ == ready_.size()) {
    ready_.clear();
    taken_ = 0;
  }
  return m;
}

std::optional<status> message_reader::finish() const {
  if (error_)
    return error_;
  if (partial_bytes() == 0)
    return std::nullopt;
  return status{status_code::internal, "the stream ended inside a gRPC message (" + std::to_string(partial_bytes()) +
                                           " bytes of it received)"};
}

}  // namespace s2s::http2
