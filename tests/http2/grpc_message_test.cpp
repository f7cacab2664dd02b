// The 5-byte message framing: split anywhere, flags kept, the 128 MiB limit decided from the prefix.
#include "http2/grpc_message.hpp"

#include <gtest/gtest.h>

namespace s2s::http2 {
namespace {

std::vector<std::uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

TEST(GrpcMessage, PrefixIsFlagAndBigEndianLength) {
  const auto p = message_prefix(1, 0x01020304);
  EXPECT_EQ(p, (std::array<std::uint8_t, 5>{1, 1, 2, 3, 4}));
}

TEST(GrpcMessage, ReassemblesMessagesSplitAtEveryByte) {
  std::vector<std::uint8_t> wire;
  append_message(wire, 0, bytes_of("hello"));
  append_message(wire, 1, bytes_of(""));
  append_message(wire, 0, bytes_of("world!"));
  for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
    message_reader reader;
    ASSERT_FALSE(reader.feed({wire.data(), cut}));
    ASSERT_FALSE(reader.feed({wire.data() + cut, wire.size() - cut}));
    std::vector<grpc_message> got;
    while (auto m = reader.next())
      got.push_back(*m);
    ASSERT_EQ(got.size(), 3u) << "cut at " << cut;
    EXPECT_EQ(got[0].payload, bytes_of("hello"));
    EXPECT_EQ(got[0].compressed, 0);
    EXPECT_TRUE(got[1].payload.empty());
    EXPECT_EQ(got[1].compressed, 1) << "the compressed flag passes through";
    EXPECT_EQ(got[2].payload, bytes_of("world!"));
    EXPECT_FALSE(reader.finish());
  }
}

TEST(GrpcMessage, OneByteAtATime) {
  std::vector<std::uint8_t> wire;
  append_message(wire, 0, bytes_of("abc"));
  message_reader reader;
  for (const auto b : wire)
    ASSERT_FALSE(reader.feed({&b, 1}));
  EXPECT_EQ(reader.next()->payload, bytes_of("abc"));
}

TEST(GrpcMessage, RefusesAMessageOverTheLimitFromItsPrefixAlone) {
  message_reader reader;  // the default limit: 128 MiB
  const auto prefix = message_prefix(0, default_max_message_bytes + 1);
  const auto error = reader.feed(prefix);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, status_code::resource_exhausted);
  EXPECT_EQ(error->message, "gRPC message of 134217729 bytes is larger than the limit of 134217728 bytes");
  EXPECT_EQ(reader.partial_bytes(), 5u) << "nothing of the payload is buffered";
  const std::uint8_t more = 0;
  EXPECT_EQ(reader.feed({&more, 1})->code, status_code::resource_exhausted) << "the error sticks";
}

TEST(GrpcMessage, AMessageGetsItsWholeBufferOnceAnEighthOfItCame) {
  constexpr std::uint32_t size = 1024 * 1024;
  message_reader reader;
  ASSERT_FALSE(reader.feed(message_prefix(0, size)));
  std::vector<std::uint8_t> piece(size / 8 - 1, 7);
  ASSERT_FALSE(reader.feed(piece));
  EXPECT_LT(reader.partial_capacity(), size) << "less than an eighth earns no full buffer";
  const std::uint8_t one = 7;
  ASSERT_FALSE(reader.feed({&one, 1}));
  EXPECT_EQ(reader.partial_capacity(), size);
  std::vector<std::uint8_t> rest(size - size / 8, 7);
  ASSERT_FALSE(reader.feed(rest));
  auto message = reader.next();
  ASSERT_TRUE(message);
  EXPECT_EQ(message->payload.size(), size);
}

TEST(GrpcMessage, AnAnnouncedLengthAloneReservesNothing) {
  message_reader reader;
  ASSERT_FALSE(reader.feed(message_prefix(0, default_max_message_bytes)));
  std::vector<std::uint8_t> piece(64 * 1024, 7);
  ASSERT_FALSE(reader.feed(piece));
  EXPECT_LT(reader.partial_capacity(), 1024u * 1024u) << "64 KiB of a 128 MiB message holds no 128 MiB buffer";
}

TEST(GrpcMessage, AcceptsAMessageOfExactlyTheLimit) {
  message_reader reader(16);
  std::vector<std::uint8_t> wire;
  append_message(wire, 0, std::vector<std::uint8_t>(16, 7));
  EXPECT_FALSE(reader.feed(wire));
  EXPECT_EQ(reader.next()->payload.size(), 16u);
}

TEST(GrpcMessage, RefusesAnUnknownCompressedFlag) {
  message_reader reader;
  const auto error = reader.feed(message_prefix(2, 0));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, status_code::internal);
}

TEST(GrpcMessage, AStreamEndingInsideAMessageIsInternal) {
  message_reader reader;
  std::vector<std::uint8_t> wire;
  append_message(wire, 0, bytes_of("truncated"));
  wire.resize(wire.size() - 3);
  EXPECT_FALSE(reader.feed(wire));
  const auto error = reader.finish();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, status_code::internal);
  EXPECT_EQ(reader.partial_bytes(), 11u);
}

}  // namespace
}  // namespace s2s::http2
