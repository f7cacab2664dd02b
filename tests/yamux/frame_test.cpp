// Frame header encoding, decoding and stateless checks, pinned to byte vectors from the protocol.
#include "yamux/frame.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace s2s::yamux {
namespace {

using bytes = std::vector<std::uint8_t>;

bytes encoded(const frame_header& h) {
  const auto a = encode(h);
  return bytes(a.begin(), a.end());
}

TEST(YamuxFrame, SynWindowUpdateForStreamOneIsTheSpecBytes) {
  EXPECT_EQ(encoded(make_header(frame_type::window_update, flags::syn, 1, 0)),
            (bytes{0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00}));
}

TEST(YamuxFrame, FieldsAreBigEndian) {
  EXPECT_EQ(encoded(make_header(frame_type::data, flags::ack | flags::fin, 0x01020304, 0x0a0b0c0d)),
            (bytes{0x00, 0x00, 0x00, 0x06, 0x01, 0x02, 0x03, 0x04, 0x0a, 0x0b, 0x0c, 0x0d}));
}

TEST(YamuxFrame, SessionFramesUseStreamZero) {
  EXPECT_EQ(encoded(make_header(frame_type::go_away, 0, 0, static_cast<std::uint32_t>(go_away_code::protocol_error))),
            (bytes{0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01}));
  EXPECT_EQ(encoded(make_header(frame_type::ping, flags::ack, 0, 7)),
            (bytes{0x00, 0x02, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07}));
}

TEST(YamuxFrame, RstAndFinFlagValues) {
  EXPECT_EQ(encoded(make_header(frame_type::window_update, flags::rst, 2, 0))[3], 0x08);
  EXPECT_EQ(encoded(make_header(frame_type::window_update, flags::fin, 2, 0))[3], 0x04);
}

TEST(YamuxFrame, DecodeInvertsEncode) {
  for (const auto& h :
       {make_header(frame_type::data, flags::syn, 1, 5),
        make_header(frame_type::window_update, 0xffff, 0xffffffff, 0xffffffff), frame_header{7, 9, 0x1234, 42, 1}}) {
    const auto a = encode(h);
    EXPECT_EQ(decode(std::span<const std::uint8_t, header_size>(a)), h);
  }
}

TEST(YamuxFrame, AppendFrameWritesHeaderThenPayload) {
  bytes out;
  const bytes payload{'h', 'i'};
  append_frame(out, make_header(frame_type::data, 0, 3, 2), payload);
  EXPECT_EQ(out, (bytes{0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 2, 'h', 'i'}));
}

TEST(YamuxFrame, GoAwayCodesHaveNames) {
  EXPECT_EQ(describe(go_away_code::normal), "normal");
  EXPECT_EQ(describe(go_away_code::protocol_error), "protocol error");
  EXPECT_EQ(describe(go_away_code::internal_error), "internal error");
  EXPECT_EQ(describe(static_cast<go_away_code>(9)), "unknown code 9");
}

TEST(YamuxFrameCheck, AcceptsWellFormedHeaders) {
  EXPECT_FALSE(check_header(make_header(frame_type::data, 0, 1, 10)));
  EXPECT_FALSE(check_header(make_header(frame_type::window_update, flags::syn, 2, 0)));
  EXPECT_FALSE(check_header(make_header(frame_type::ping, flags::syn, 0, 1)));
  EXPECT_FALSE(check_header(make_header(frame_type::go_away, 0, 0, 0)));
}

TEST(YamuxFrameCheck, RejectsVersionOtherThanZero) {
  auto h = make_header(frame_type::data, 0, 1, 0);
  h.version = 1;
  EXPECT_EQ(check_header(h), "frame has protocol version 1, only version 0 exists");
}

TEST(YamuxFrameCheck, RejectsUnknownType) {
  frame_header h;
  h.type = 4;
  h.stream = 1;
  EXPECT_EQ(check_header(h), "frame has unknown type 4");
}

TEST(YamuxFrameCheck, RejectsSessionFramesOnAStream) {
  EXPECT_EQ(check_header(make_header(frame_type::ping, flags::syn, 3, 0)),
            "ping frame names stream 3, it must name stream 0");
  EXPECT_EQ(check_header(make_header(frame_type::go_away, 0, 1, 0)),
            "go-away frame names stream 1, it must name stream 0");
}

TEST(YamuxFrameCheck, RejectsStreamFramesOnStreamZero) {
  EXPECT_EQ(check_header(make_header(frame_type::data, 0, 0, 0)),
            "data frame names stream 0, which is reserved for the session");
  EXPECT_EQ(check_header(make_header(frame_type::window_update, 0, 0, 0)),
            "window update frame names stream 0, which is reserved for the session");
}

TEST(YamuxFrameDecoder, AssemblesAHeaderFedOneByteAtATime) {
  const auto a = encode(make_header(frame_type::window_update, flags::ack, 9, 100));
  frame_decoder decoder;
  for (std::size_t i = 0; i < a.size(); ++i) {
    std::span<const std::uint8_t> input(&a[i], 1);
    const auto item = decoder.next(input);
    EXPECT_TRUE(input.empty());
    if (i + 1 < a.size()) {
      EXPECT_EQ(item.what, frame_decoder::item::kind::need_more);
    } else {
      ASSERT_EQ(item.what, frame_decoder::item::kind::header);
      EXPECT_EQ(item.header, make_header(frame_type::window_update, flags::ack, 9, 100));
    }
  }
}

TEST(YamuxFrameDecoder, YieldsDataPayloadInPiecesAsItArrives) {
  bytes wire;
  append_frame(wire, make_header(frame_type::data, 0, 1, 5), bytes{'h', 'e', 'l', 'l', 'o'});
  append_frame(wire, make_header(frame_type::ping, flags::syn, 0, 3));
  frame_decoder decoder;
  std::span<const std::uint8_t> first(wire.data(), 14);  // header and "he"
  EXPECT_EQ(decoder.next(first).what, frame_decoder::item::kind::header);
  auto piece = decoder.next(first);
  ASSERT_EQ(piece.what, frame_decoder::item::kind::payload);
  EXPECT_EQ(std::string(piece.payload.begin(), piece.payload.end()), "he");
  EXPECT_EQ(decoder.payload_remaining(), 3u);
  EXPECT_EQ(decoder.next(first).what, frame_decoder::item::kind::need_more);

  std::span<const std::uint8_t> rest(wire.data() + 14, wire.size() - 14);
  piece = decoder.next(rest);
  ASSERT_EQ(piece.what, frame_decoder::item::kind::payload);
  EXPECT_EQ(std::string(piece.payload.begin(), piece.payload.end()), "llo");
  const auto ping = decoder.next(rest);
  ASSERT_EQ(ping.what, frame_decoder::item::kind::header);
  EXPECT_EQ(ping.header, make_header(frame_type::ping, flags::syn, 0, 3));
  EXPECT_TRUE(rest.empty());
}

TEST(YamuxFrameDecoder, WindowUpdateLengthIsNotAPayload) {
  bytes wire;
  append_frame(wire, make_header(frame_type::window_update, 0, 1, 1000));
  append_frame(wire, make_header(frame_type::go_away, 0, 0, 0));
  frame_decoder decoder;
  std::span<const std::uint8_t> input(wire);
  EXPECT_EQ(decoder.next(input).header.length, 1000u);
  EXPECT_EQ(decoder.payload_remaining(), 0u);
  EXPECT_TRUE(decoder.next(input).header.is(frame_type::go_away));
}

}  // namespace
}  // namespace s2s::yamux
