// The send queue of a stream: buffers taken over, handed out in order across their edges.
#include "http2/send_queue.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <numeric>
#include <vector>

namespace s2s::http2 {
namespace {

std::vector<std::uint8_t> counting(std::size_t size, std::uint8_t first) {
  std::vector<std::uint8_t> bytes(size);
  std::iota(bytes.begin(), bytes.end(), first);
  return bytes;
}

TEST(SendQueue, BytesComeOutInTheOrderTheyWereQueuedAcrossBufferEdges) {
  send_queue queue;
  auto first = counting(5, 0);
  queue.append(std::move(first));
  std::vector<std::uint8_t> second = {5, 6, 7};
  queue.append(std::span<const std::uint8_t>(second));
  queue.append(counting(4, 8));
  EXPECT_EQ(queue.size(), 12u);

  std::vector<std::uint8_t> out(12);
  EXPECT_EQ(queue.take(out.data(), 3), 3u);
  EXPECT_EQ(queue.take(out.data() + 3, 7), 7u);
  EXPECT_EQ(queue.size(), 2u);
  EXPECT_EQ(queue.take(out.data() + 10, 100), 2u);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(out, counting(12, 0));
}

TEST(SendQueue, BorrowedBytesAreReadInPlaceAndTheirKeeperReleasedOnceTaken) {
  send_queue queue;
  auto kept = std::make_shared<std::vector<std::uint8_t>>(counting(6, 2));
  std::weak_ptr<std::vector<std::uint8_t>> watch = kept;
  queue.append(counting(2, 0));
  queue.append(std::span<const std::uint8_t>(*kept), kept);
  kept.reset();
  EXPECT_FALSE(watch.expired()) << "the queue keeps borrowed bytes alive until they are framed";
  EXPECT_EQ(queue.size(), 8u);
  std::vector<std::uint8_t> out(8);
  EXPECT_EQ(queue.take(out.data(), 5), 5u);
  EXPECT_FALSE(watch.expired());
  EXPECT_EQ(queue.take(out.data() + 5, 10), 3u);
  EXPECT_TRUE(watch.expired()) << "taken whole, the borrowed buffer is let go";
  EXPECT_EQ(out, counting(8, 0));
}

TEST(SendQueue, ALargeBufferIsTakenOverNotCopied) {
  send_queue queue;
  auto large = counting(1 << 20, 0);
  const auto* where = large.data();
  queue.append(counting(10, 0));
  queue.append(std::move(large));
  std::vector<std::uint8_t> out(10);
  queue.take(out.data(), out.size());
  // The large buffer's bytes were not moved: the next byte out is its first.
  std::uint8_t next = 0xff;
  queue.take(&next, 1);
  EXPECT_EQ(next, *where);
  EXPECT_EQ(queue.size(), (1u << 20) - 1);
}

TEST(SendQueue, EmptyAppendsQueueNothing) {
  send_queue queue;
  queue.append(std::vector<std::uint8_t>{});
  queue.append(std::span<const std::uint8_t>{});
  EXPECT_TRUE(queue.empty());
  std::uint8_t out = 0;
  EXPECT_EQ(queue.take(&out, 1), 0u);
}

}  // namespace
}  // namespace s2s::http2
