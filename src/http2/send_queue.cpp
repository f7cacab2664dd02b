// The bytes queued on one HTTP/2 stream and not yet framed.
#include "http2/send_queue.hpp"

#include <algorithm>
#include <cstring>

namespace s2s::http2 {

void send_queue::append(std::span<const std::uint8_t> bytes) {
  if (!bytes.empty())
    append(std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
}

void send_queue::append(std::vector<std::uint8_t>&& bytes) {
  if (bytes.empty())
    return;
  size_ += bytes.size();
  buffer b{std::move(bytes), nullptr, {}};
  b.bytes = b.owned;  // a moved vector keeps its storage, so the view stays valid as buffers_ grows
  buffers_.push_back(std::move(b));
}

void send_queue::append(std::span<const std::uint8_t> bytes, std::shared_ptr<const void> keeper) {
  if (bytes.empty())
    return;
  size_ += bytes.size();
  buffers_.push_back(buffer{{}, std::move(keeper), bytes});
}

std::size_t send_queue::take(std::uint8_t* out, std::size_t length) {
  std::size_t taken = 0;
  while (taken < length && front_ < buffers_.size()) {
    auto& front = buffers_[front_];
    const std::size_t n = std::min(length - taken, front.bytes.size() - head_);
    std::memcpy(out + taken, front.bytes.data() + head_, n);
    taken += n;
    head_ += n;
    if (head_ == front.bytes.size()) {
      front = {};  // its memory goes back now, not when the queue next empties
      ++front_;
      head_ = 0;
    }
  }
  size_ -= taken;
  if (front_ == buffers_.size()) {
    buffers_.clear();
    front_ = 0;
  } else if (front_ >= 16 && front_ * 2 >= buffers_.size()) {
    // A stream that never drains its queue must not grow the list of framed buffers.
    buffers_.erase(buffers_.begin(), buffers_.begin() + static_cast<std::ptrdiff_t>(front_));
    front_ = 0;
  }
  return taken;
}

}  // namespace s2s::http2
