// storage/hex.h: bytes as hex text and back (message ids, request ids).

#include "storage/hex.h"

#include <catch2/catch.hpp>

using actormq::storage::from_hex;
using actormq::storage::to_hex;

TEST_CASE("hex round-trips every byte value as two lowercase digits", "[hex]") {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  auto text = to_hex(all);
  REQUIRE(text.size() == 512);
  CHECK(text.substr(0, 6) == "000102");
  CHECK(text.substr(text.size() - 4) == "feff");
  CHECK(text.find_first_not_of("0123456789abcdef") == std::string::npos);
  auto back = from_hex(text);
  REQUIRE(back);
  CHECK(*back == all);
  CHECK(to_hex("") == "");
  CHECK(from_hex("") == std::string());
}

TEST_CASE("hex reads upper-case digits", "[hex]") {
  CHECK(from_hex("ABcdEF09") == std::string("\xab\xcd\xef\x09", 4));
}

TEST_CASE("hex refuses an odd length or a character that is not a digit", "[hex]") {
  CHECK_FALSE(from_hex("abc"));
  CHECK_FALSE(from_hex("0g"));
  CHECK_FALSE(from_hex("0x12"));
  CHECK_FALSE(from_hex(" 012"));
}
