// The bytes queued on one HTTP/2 stream and not yet framed: whole buffers, taken over as they come.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace s2s::http2 {

// A message queued behind another is neither copied into one growing buffer nor moves what
// waits before it: each buffer stays as it came until framing has taken all of it.
class send_queue {
 public:
  // Copies `bytes` in (small writes: an end of stream, a test's data).
  void append(std::span<const std::uint8_t> bytes);
  // Takes `bytes` over without copying.
  void append(std::vector<std::uint8_t>&& bytes);
  // Queues `bytes` without copying them; `keeper` keeps them valid until they are framed.
  void append(std::span<const std::uint8_t> bytes, std::shared_ptr<const void> keeper);
  // Copies up to `length` bytes from the front into `out` and drops them; returns how many.
  std::size_t take(std::uint8_t* out, std::size_t length);

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  // Bytes taken over, or borrowed from what `keeper` keeps alive; `bytes` is what it holds.
  struct buffer {
    std::vector<std::uint8_t> owned;
    std::shared_ptr<const void> keeper;
    std::span<const std::uint8_t> bytes;
  };
  // None of them empty; those before `front_` are framed. (A vector, not a deque: an empty one
  // allocates nothing, and a stream that queues nothing must cost nothing.)
  std::vector<buffer> buffers_;
  std::size_t front_ = 0;  // the first buffer not all taken
  std::size_t head_ = 0;   // what was taken of it
  std::size_t size_ = 0;
};

}  // namespace s2s::http2
