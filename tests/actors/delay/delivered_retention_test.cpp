// delivered_retention: delivered records of a schedule partition are kept
// keep after they stopped being needed, all go past keep_bytes, and the
// memory is a handful of samples whatever the traffic.

#include <catch2/catch.hpp>

#include "actors/delay/delivered_retention.h"

using actormq::delay::delivered_retention;
using namespace std::chrono_literals;

namespace {
constexpr uint64_t small = 1000;  // bytes: under the bound
}

TEST_CASE("delivered records stay keep after they stopped being needed, then go",
          "[actors][delay][retention]") {
  delivered_retention r(1000ms, 1 << 20);
  CHECK(r.floor(10'000, 5, small) == 0);  // not needed since now: nothing goes
  CHECK(r.floor(10'500, 8, small) == 0);
  CHECK(r.floor(10'999, 8, small) == 0);
  CHECK(r.floor(11'000, 8, small) == 5);  // below 5 unneeded for 1 s
  CHECK(r.floor(11'400, 9, small) == 5);
  CHECK(r.floor(11'500, 9, small) == 8);  // below 8 since 10'500
  CHECK(r.floor(20'000, 9, small) == 9);  // nothing newer: all of it
  CHECK(r.floor(20'000, 7, small) == 0);  // never above what is needed now
}

TEST_CASE("keep 0 deletes everything no longer needed at once", "[actors][delay][retention]") {
  delivered_retention r(0ms, 1 << 20);
  CHECK(r.floor(1'000, 5, small) == 5);
  CHECK(r.floor(1'001, 7, small) == 7);
}

TEST_CASE("a partition past keep_bytes keeps nothing delivered, then keeps again",
          "[actors][delay][retention]") {
  delivered_retention r(1000ms, 4096);
  CHECK(r.floor(0, 5, small) == 0);
  CHECK(r.floor(100, 9, 5000) == 9);  // too big: all of it
  // Below the bound again: what became unneeded after 100 is kept its second.
  CHECK(r.floor(200, 12, small) == 0);
  CHECK(r.floor(1'100, 12, small) == 9);
  CHECK(r.floor(1'200, 12, small) == 12);
}

TEST_CASE("a lowest that moved back (an index rebuilt lower) is not deleted past",
          "[actors][delay][retention]") {
  delivered_retention r(1000ms, 1 << 20);
  (void)r.floor(0, 50, small);
  (void)r.floor(500, 80, small);
  CHECK(r.floor(1'500, 20, small) == 0);  // since 1'500 only below 20
  CHECK(r.floor(2'500, 20, small) == 20);
  r.reset();  // a new leader: knows nothing older
  CHECK(r.floor(2'600, 30, small) == 0);
}

TEST_CASE("the kept window's memory is bounded by keep over the collection interval",
          "[actors][delay][retention]") {
  delivered_retention r(10s, 1 << 30);
  size_t most = 0;
  // A collection every 5 s for a day, lowest moving every time.
  for (int64_t i = 0; i < 24 * 720; ++i) {
    (void)r.floor(i * 5000, i * 1000, small);
    most = std::max(most, r.samples());
  }
  CHECK(most <= 4);
}
