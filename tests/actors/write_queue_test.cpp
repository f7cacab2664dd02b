// The write queue of a call half: order, and the read grants its writes give back.
#include <gtest/gtest.h>

#include "actors/grpc_halves.hpp"

namespace s2s::actors {
namespace {

grpc::ByteBuffer of_size(std::size_t size) {
  grpc::Slice slice(std::string(size, 'x'));
  return grpc::ByteBuffer(&slice, 1);
}

TEST(WriteQueue, WritesOneAtATimeInOrder) {
  write_queue queue;
  queue.push(of_size(1));
  queue.push(of_size(2));
  ASSERT_TRUE(queue.take());
  EXPECT_EQ(queue.in_flight.Length(), 1u);
  EXPECT_FALSE(queue.take());  // one write at a time
  EXPECT_EQ(queue.written(), 1u);
  ASSERT_TRUE(queue.take());
  EXPECT_EQ(queue.in_flight.Length(), 2u);
  EXPECT_EQ(queue.written(), 1u);
  EXPECT_FALSE(queue.take());
  EXPECT_EQ(queue.bytes, 0u);
}

TEST(WriteQueue, GrantsAreHeldBackWhileMoreThanTheBudgetWaits) {
  write_queue queue;
  auto big = write_queue::byte_budget / 2 + 1;
  for (int i = 0; i < 3; ++i)
    queue.push(of_size(big));
  ASSERT_TRUE(queue.take());
  EXPECT_EQ(queue.written(), 0u);  // two big messages still wait: over the budget
  ASSERT_TRUE(queue.take());
  EXPECT_EQ(queue.written(), 2u);  // one waits: both held grants come back
  ASSERT_TRUE(queue.take());
  EXPECT_EQ(queue.written(), 1u);
}

TEST(ReadPacing, ReadsOnlyWithAGrantAndOneAtATime) {
  read_pacing reads;
  reads.ready = false;
  reads.granted = 2;
  EXPECT_FALSE(reads.take());  // not ready (headers not here yet)
  reads.ready = true;
  EXPECT_TRUE(reads.take());
  EXPECT_FALSE(reads.take());  // one read at a time
  reads.reading = false;
  EXPECT_TRUE(reads.take());
  reads.reading = false;
  EXPECT_FALSE(reads.take());  // grants used up
  reads.granted = 1;
  reads.ended = true;
  EXPECT_FALSE(reads.take());
}

}  // namespace
}  // namespace s2s::actors
