#include "storage/varint.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <vector>

using namespace actormq::storage;

namespace {
// Encodes v, checks size(), decodes it back; returns the decoded value.
int64_t round_trip(int64_t v) {
  uint8_t buf[varint::max_bytes];
  size_t n = varint::encode(v, buf);
  CHECK(n == varint::size(v));
  const uint8_t* p = buf;
  int64_t out = 0;
  REQUIRE(varint::decode(p, buf + n, out));
  CHECK(p == buf + n);
  return out;
}
}  // namespace

TEST_CASE("varints round-trip across every length, one byte to ten") {
  const std::vector<int64_t> values = {0,
                                       -1,
                                       1,
                                       63,
                                       -64,
                                       64,  // first two-byte value
                                       -65,
                                       8191,
                                       8192,
                                       1 << 20,
                                       -(int64_t{1} << 40),
                                       std::numeric_limits<int64_t>::max(),
                                       std::numeric_limits<int64_t>::min()};
  for (auto v : values) CHECK(round_trip(v) == v);
  CHECK(varint::size(63) == 1);
  CHECK(varint::size(64) == 2);
  CHECK(varint::size(std::numeric_limits<int64_t>::min()) == 10);
}

TEST_CASE("varint decoding reads consecutive values and leaves the pointer after each") {
  uint8_t buf[3 * varint::max_bytes];
  size_t n = varint::encode(5, buf);
  n += varint::encode(300, buf + n);
  n += varint::encode(-2, buf + n);
  const uint8_t* p = buf;
  int64_t a = 0, b = 0, c = 0;
  REQUIRE(varint::decode(p, buf + n, a));
  REQUIRE(varint::decode(p, buf + n, b));
  REQUIRE(varint::decode(p, buf + n, c));
  CHECK(a == 5);
  CHECK(b == 300);
  CHECK(c == -2);
  CHECK(p == buf + n);
}

TEST_CASE("a varint cut off before its last byte does not decode") {
  // Two, three and four bytes.
  for (int64_t value : {int64_t{300}, int64_t{8192}, int64_t{1} << 20}) {
    uint8_t buf[varint::max_bytes];
    size_t n = varint::encode(value, buf);
    REQUIRE(n >= 2);
    for (size_t cut = 0; cut < n; ++cut) {
      const uint8_t* p = buf;
      int64_t v = 0;
      CHECK_FALSE(varint::decode(p, buf + cut, v));
    }
  }
}

TEST_CASE("two-byte varints decode at their edges") {
  for (int64_t value : {int64_t{64}, int64_t{-65}, int64_t{8191}, int64_t{-8192}}) {
    uint8_t buf[varint::max_bytes];
    REQUIRE(varint::encode(value, buf) == 2);
    const uint8_t* p = buf;
    int64_t v = 0;
    REQUIRE(varint::decode(p, buf + 2, v));
    CHECK(v == value);
    CHECK(p == buf + 2);
  }
}

TEST_CASE("a varint longer than ten bytes does not decode") {
  uint8_t buf[11];
  for (auto& b : buf) b = 0x80;
  buf[10] = 0x01;
  const uint8_t* p = buf;
  int64_t v = 0;
  CHECK_FALSE(varint::decode(p, buf + sizeof buf, v));
}
