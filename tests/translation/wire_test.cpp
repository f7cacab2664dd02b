// Wire-format primitives: varints, field reading with positions in errors, and top-level field replacement.
#include <gtest/gtest.h>

#include <cstdint>

#include "translation/wire.hpp"

namespace s2s::translation::wire {
namespace {

TEST(Wire, VarintsUseTheMinimalEncoding) {
  for (std::uint64_t value : {0ull, 1ull, 127ull, 128ull, 16383ull, 16384ull, (1ull << 35), ~0ull}) {
    std::string encoded = encode_varint(value);
    EXPECT_EQ(encoded.size(), varint_size(value)) << value;
    std::string tagged;
    append_tag(tagged, 1, wire_type::varint);
    tagged += encoded;
    reader fields(tagged.data(), tagged.data() + tagged.size(), tagged.data());
    field f;
    ASSERT_TRUE(fields.read(f)) << fields.error();
    EXPECT_EQ(f.varint, value);
    EXPECT_TRUE(fields.at_end());
  }
  EXPECT_EQ(varint_size(~0ull), 10u);
}

TEST(Wire, ErrorsSayWhereRelativeToTheWholeMessage) {
  std::string bytes("\x08\x01\x12\x05hi", 6);
  reader in(bytes.data() + 2, bytes.data() + bytes.size(), bytes.data());
  field f;
  ASSERT_FALSE(in.read(f));
  EXPECT_EQ(in.error(), "at byte 3: field 2 declares 5 bytes but only 2 are left");
}

TEST(Wire, SetTopLevelFieldReplacesInPlaceRemovesRepeatsAndAppendsWhenAbsent) {
  std::string field_a("\x08\x05", 2), field_b("\x10\x07", 2), field_a2("\x08\x06", 2);
  std::string encoded("\x08\x2a", 2);
  std::string error;
  bool changed = false;

  std::string bytes = field_a + field_b + field_a2;
  ASSERT_TRUE(set_top_level_field(bytes, 1, encoded, changed, error)) << error;
  EXPECT_TRUE(changed);
  EXPECT_EQ(bytes, encoded + field_b);

  ASSERT_TRUE(set_top_level_field(bytes, 1, encoded, changed, error));
  EXPECT_FALSE(changed);

  bytes = field_b;
  ASSERT_TRUE(set_top_level_field(bytes, 1, encoded, changed, error));
  EXPECT_EQ(bytes, field_b + encoded);

  bytes = std::string("\x0a\x09", 2);
  EXPECT_FALSE(set_top_level_field(bytes, 1, encoded, changed, error));
  EXPECT_NE(error.find("declares 9 bytes"), std::string::npos) << error;
}

TEST(Wire, GroupsAreSkippedWhole) {
  std::string bytes;
  append_tag(bytes, 3, wire_type::start_group);
  append_tag(bytes, 4, wire_type::start_group);
  append_tag(bytes, 1, wire_type::fixed32);
  bytes += std::string(4, 'x');
  append_tag(bytes, 4, wire_type::end_group);
  append_tag(bytes, 3, wire_type::end_group);
  append_tag(bytes, 2, wire_type::fixed64);
  bytes += std::string(8, 'y');
  reader in(bytes.data(), bytes.data() + bytes.size(), bytes.data());
  field f;
  ASSERT_TRUE(in.read(f)) << in.error();
  EXPECT_EQ(f.number, 3u);
  ASSERT_TRUE(in.read(f)) << in.error();
  EXPECT_EQ(f.number, 2u);
  EXPECT_TRUE(in.at_end());

  std::string unterminated;
  append_tag(unterminated, 3, wire_type::start_group);
  reader bad(unterminated.data(), unterminated.data() + unterminated.size(), unterminated.data());
  EXPECT_FALSE(bad.read(f));
  EXPECT_NE(bad.error().find("no end-group"), std::string::npos) << bad.error();
}

}  // namespace
}  // namespace s2s::translation::wire
