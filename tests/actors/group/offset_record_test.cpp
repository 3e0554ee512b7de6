// The record layout of __consumer_offsets (actors/group/offset_record.h).
#include <catch2/catch.hpp>

#include <set>

#include "actors/group/offset_record.h"

using namespace actormq::group;

TEST_CASE("offset keys and values round-trip", "[actors][group][offset_record]") {
  offset_key k{"billing", "orders.eu", 17};
  auto kb = encode_offset_key(k);
  CHECK(kb.size() == 1 + 1 + 2 + 7 + 2 + 9 + 4);
  CHECK(decode_offset_key(kb) == k);
  offset_value v{123456789012, 1796176800000, std::string("meta\0data", 9)};
  CHECK(decode_offset_value(encode_offset_value(v)) == v);
  offset_value empty{0, 0, ""};
  CHECK(decode_offset_value(encode_offset_value(empty)) == empty);
}

TEST_CASE("the documented key layout is what is written", "[actors][group][offset_record]") {
  auto kb = encode_offset_key({"g", "t", 2});
  const std::string expect("\x01\x01\x01\x00g\x01\x00t\x02\x00\x00\x00", 12);
  CHECK(kb == expect);
}

TEST_CASE("malformed or foreign offset records do not decode", "[actors][group][offset_record]") {
  auto kb = encode_offset_key({"g", "t", 2});
  auto vb = encode_offset_value({5, 6, "m"});
  SECTION("every truncation of a key or value") {
    for (size_t n = 0; n < kb.size(); ++n) CHECK_FALSE(decode_offset_key(kb.substr(0, n)));
    for (size_t n = 0; n < vb.size(); ++n) CHECK_FALSE(decode_offset_value(vb.substr(0, n)));
  }
  SECTION("trailing bytes") {
    CHECK_FALSE(decode_offset_key(kb + "x"));
    CHECK_FALSE(decode_offset_value(vb + "x"));
  }
  SECTION("an unknown version or kind (a newer broker's record)") {
    auto k2 = kb;
    k2[0] = 2;
    CHECK_FALSE(decode_offset_key(k2));
    k2 = kb;
    k2[1] = 9;
    CHECK_FALSE(decode_offset_key(k2));
    auto v2 = vb;
    v2[0] = 2;
    CHECK_FALSE(decode_offset_value(v2));
  }
  SECTION("a negative partition or offset") {
    CHECK_FALSE(decode_offset_key(encode_offset_key({"g", "t", -1})));
    CHECK_FALSE(decode_offset_value(encode_offset_value({-1, 0, ""})));
  }
  SECTION("an empty group or topic name") {
    CHECK_FALSE(decode_offset_key(encode_offset_key({"", "t", 0})));
    CHECK_FALSE(decode_offset_key(encode_offset_key({"g", "", 0})));
  }
}

TEST_CASE("a group's state partition is stable and spreads groups",
          "[actors][group][offset_record]") {
  // FNV-1a 32 of "billing" is 0x417000dc (pinned: a change moves every
  // group's state to another partition).
  CHECK(state_partition_of("billing", 1u << 31) == (0x417000dcu % (1u << 31)));
  CHECK(state_partition_of("billing", 1) == 0);
  CHECK(state_partition_of("anything", 0) == 0);
  std::set<uint32_t> used;
  for (int i = 0; i < 200; ++i) used.insert(state_partition_of("group-" + std::to_string(i), 8));
  CHECK(used.size() == 8);
}
