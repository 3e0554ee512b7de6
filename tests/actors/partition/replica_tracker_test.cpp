// replica_tracker: the leader's view of its followers (Kafka's rules).

#include "actors/partition/replica_tracker.h"

#include <catch2/catch.hpp>

using namespace actormq;
using namespace std::chrono_literals;
using clock_type = replica_tracker::clock;

namespace {
const auto t0 = clock_type::time_point{} + 1h;
}

TEST_CASE("the high watermark is the smallest log end over the in-sync set",
          "[actors][partition][replica_tracker]") {
  replica_tracker t;
  t.reset(0, {0, 1, 2}, {0, 1, 2}, 0, t0);
  // Followers not heard from yet hold it where it is.
  CHECK(t.update_high_watermark(10) == 0);
  t.on_fetch(1, 10, 10, t0);
  CHECK(t.update_high_watermark(10) == 0);
  t.on_fetch(2, 7, 10, t0);
  CHECK(t.update_high_watermark(10) == 7);
  t.on_fetch(2, 10, 12, t0);
  CHECK(t.update_high_watermark(12) == 10);
}

TEST_CASE("the high watermark never moves backwards on a leader",
          "[actors][partition][replica_tracker]") {
  replica_tracker t;
  t.reset(0, {0, 1}, {0, 1}, 5, t0);
  t.on_fetch(1, 3, 8, t0);  // a follower below the leader's starting watermark
  CHECK(t.update_high_watermark(8) == 5);
}

TEST_CASE("a follower outside the in-sync set does not hold the watermark back",
          "[actors][partition][replica_tracker]") {
  replica_tracker t;
  t.reset(0, {0, 1, 2}, {0, 1}, 0, t0);
  t.on_fetch(1, 9, 9, t0);
  CHECK(t.update_high_watermark(9) == 9);
}

TEST_CASE("a follower that has not caught up for longer than the lag is shrunk out",
          "[actors][partition][replica_tracker]") {
  replica_tracker t;
  t.reset(0, {0, 1, 2}, {0, 1, 2}, 0, t0);
  t.on_fetch(1, 5, 5, t0 + 1s);  // at the end: caught up at 1 s
  t.on_fetch(2, 2, 5, t0 + 1s);  // behind
  CHECK_FALSE(t.shrunk(t0 + 900ms, 1s));
  auto s = t.shrunk(t0 + 1500ms, 1s);
  REQUIRE(s);
  CHECK(*s == std::vector<int32_t>{0, 1});  // 2 last caught up at the reset (t0)
}

TEST_CASE("a follower reaching the leader's previous end counts as caught up at its previous fetch",
          "[actors][partition][replica_tracker]") {
  replica_tracker t;
  t.reset(0, {0, 1}, {0, 1}, 0, t0);
  t.on_fetch(1, 0, 100, t0 + 5s);    // behind; the leader ended at 100
  t.on_fetch(1, 100, 150, t0 + 6s);  // reached 100: caught up as of 5 s
  CHECK_FALSE(t.shrunk(t0 + 5900ms, 1s));
  CHECK(t.shrunk(t0 + 6100ms, 1s));
}

TEST_CASE("a follower rejoins once it reaches the high watermark and the epoch start",
          "[actors][partition][replica_tracker]") {
  replica_tracker t;
  t.reset(0, {0, 1}, {0}, 20, t0);
  t.on_fetch(1, 10, 30, t0);
  CHECK_FALSE(t.expanded(1, 0));
  t.on_fetch(1, 25, 30, t0);
  CHECK_FALSE(t.expanded(1, 27));  // not yet at the start of this leader's epoch
  auto e = t.expanded(1, 20);
  REQUIRE(e);
  CHECK(*e == std::vector<int32_t>{0, 1});
  t.set_isr(*e);
  CHECK_FALSE(t.expanded(1, 20));  // already in
  CHECK_FALSE(t.expanded(7, 0));   // not a replica
}

TEST_CASE("a replica added within the term is tracked and rejoins once caught up",
          "[actors][partition][replica_tracker]") {
  replica_tracker t;
  t.reset(0, {0, 1}, {0, 1}, 0, t0);
  t.on_fetch(1, 30, 30, t0);
  CHECK(t.update_high_watermark(30) == 30);
  t.on_fetch(2, 0, 30, t0);  // not a replica yet: ignored
  CHECK_FALSE(t.expanded(2, 0));
  t.set_replicas({0, 1, 2}, t0 + 1s);
  CHECK(t.log_end_of(1) == 30);  // kept
  CHECK(t.log_end_of(2) == -1);  // new, unknown
  t.on_fetch(2, 10, 30, t0 + 2s);
  CHECK_FALSE(t.expanded(2, 0));  // below the high watermark
  t.on_fetch(2, 30, 30, t0 + 2s);
  auto e = t.expanded(2, 0);
  REQUIRE(e);
  CHECK(*e == std::vector<int32_t>{0, 1, 2});
  t.set_replicas({0, 1}, t0 + 3s);
  CHECK(t.log_end_of(2) == -1);  // forgotten
}
