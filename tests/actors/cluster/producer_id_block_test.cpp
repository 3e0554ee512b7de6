// producer_id_block: the value of <root>/producer_id_block and how the next
// block follows the latest one.
#include <catch2/catch.hpp>

#include <limits>

#include "actors/cluster/producer_id_block.h"

using actormq::cluster::producer_id_block;

TEST_CASE("a producer id block round-trips through its text", "[cluster][producer-ids]") {
  producer_id_block b{2, 3000, 3999};
  CHECK(b.encode() == "broker = 2\nfirst = 3000\nlast = 3999\n");
  auto back = producer_id_block::decode(b.encode());
  REQUIRE(back);
  CHECK(*back == b);
  CHECK(back->size() == 1000);
}

TEST_CASE("a producer id block without first or last is malformed", "[cluster][producer-ids]") {
  CHECK_FALSE(producer_id_block::decode("broker = 1\nlast = 9\n"));
  CHECK_FALSE(producer_id_block::decode("broker = 1\nfirst = 0\n"));
}

TEST_CASE("a producer id block with a non-numeric field is malformed", "[cluster][producer-ids]") {
  CHECK_FALSE(producer_id_block::decode("broker = 1\nfirst = x\nlast = 9\n"));
  CHECK_FALSE(producer_id_block::decode("broker = b\nfirst = 0\nlast = 9\n"));
}

TEST_CASE("a producer id block that ends before it starts is malformed",
          "[cluster][producer-ids]") {
  CHECK_FALSE(producer_id_block::decode("first = 10\nlast = 9\n"));
  CHECK_FALSE(producer_id_block::decode("first = -5\nlast = 9\n"));
}

TEST_CASE("the first block starts at zero or at the floor", "[cluster][producer-ids]") {
  auto b = producer_id_block::after(std::nullopt, 3, 100, 0);
  REQUIRE(b);
  CHECK(*b == producer_id_block{3, 0, 99});
  auto floored = producer_id_block::after(std::nullopt, 3, 100, 7000);
  REQUIRE(floored);
  CHECK(*floored == producer_id_block{3, 7000, 7099});
}

TEST_CASE("the next block starts after the latest one, whoever claimed it",
          "[cluster][producer-ids]") {
  producer_id_block latest{1, 0, 99};
  auto b = producer_id_block::after(latest, 2, 50, 0);
  REQUIRE(b);
  CHECK(*b == producer_id_block{2, 100, 149});
  // A floor above the latest block wins; one below it changes nothing.
  CHECK(producer_id_block::after(latest, 2, 50, 500)->first == 500);
  CHECK(producer_id_block::after(latest, 2, 50, 20)->first == 100);
}

TEST_CASE("a block that would overflow the id space is refused", "[cluster][producer-ids]") {
  constexpr auto max = std::numeric_limits<int64_t>::max();
  CHECK_FALSE(producer_id_block::after(producer_id_block{1, 0, max}, 2, 1, 0));
  CHECK_FALSE(producer_id_block::after(producer_id_block{1, 0, max - 10}, 2, 20, 0));
  auto last = producer_id_block::after(producer_id_block{1, 0, max - 10}, 2, 10, 0);
  REQUIRE(last);
  CHECK(last->last == max);
}

TEST_CASE("a block of no ids is refused", "[cluster][producer-ids]") {
  CHECK_FALSE(producer_id_block::after(std::nullopt, 1, 0, 0));
}
