#include <catch2/catch.hpp>

#include "actormq/client/partitioner.h"

using actormq::client::murmur2;
using actormq::client::partition_for_key;

TEST_CASE("murmur2 matches Kafka's reference values", "[client][partitioner]") {
  // From Kafka's UtilsTest.testMurmur2.
  CHECK(murmur2("21") == -973932308);
  CHECK(murmur2("foobar") == -790332482);
  CHECK(murmur2("a-little-bit-long-string") == -985981536);
  CHECK(murmur2("a-little-bit-longer-string") == -1486304829);
  CHECK(murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") == -58897971);
  CHECK(murmur2(std::string_view("abc")) == 479470107);
}

TEST_CASE("partition for key is stable and within range", "[client][partitioner]") {
  for (uint32_t n : {1u, 3u, 8u, 100u}) {
    for (int i = 0; i < 200; ++i) {
      auto key = "key-" + std::to_string(i);
      auto p = partition_for_key(key, n);
      CHECK(p < n);
      CHECK(p == partition_for_key(key, n));
    }
  }
}
