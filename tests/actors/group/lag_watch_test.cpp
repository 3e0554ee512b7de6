// Unit: the lag alert's arithmetic (actors/group/lag_watch.h), time given
// by hand.
#include <catch2/catch.hpp>

#include "actors/group/lag_watch.h"

using namespace actormq::group;

namespace {
lag_observation part(int32_t p, std::optional<int64_t> committed, int64_t hw, int64_t start = 0) {
  return {{"orders", p}, committed, start, hw};
}
}  // namespace

TEST_CASE("the lag alert is raised at max_messages and cleared once under it", "[group][lag]") {
  lag_watch w({.max_messages = 100, .max_age_ms = 0});
  auto v = w.observe({part(0, 0, 40), part(1, 10, 60)}, 1000);
  CHECK(v.lag == 90);
  CHECK_FALSE(v.over);
  CHECK(v.what == lag_verdict::change::none);
  v = w.observe({part(0, 0, 50), part(1, 10, 60)}, 2000);
  CHECK(v.lag == 100);
  CHECK(v.over);
  CHECK(v.what == lag_verdict::change::raised);
  CHECK(w.alerting());
  v = w.observe({part(0, 0, 60), part(1, 10, 60)}, 3000);
  CHECK(v.what == lag_verdict::change::none);  // raised once, not per check
  v = w.observe({part(0, 55, 60), part(1, 60, 60)}, 4000);
  CHECK(v.lag == 5);
  CHECK(v.what == lag_verdict::change::cleared);
  CHECK_FALSE(w.alerting());
  CHECK(w.raised() == 1);
}

TEST_CASE("the age of the oldest unconsumed message is interpolated between two checks",
          "[group][lag]") {
  lag_watch w({.max_messages = 0, .max_age_ms = 10000});
  w.observe({part(0, 100, 100)}, 0);      // caught up at 100
  w.observe({part(0, 100, 200)}, 10000);  // offsets 100..199 appended in (0, 10 s]
  auto v = w.observe({part(0, 150, 200)}, 20000);
  // Offset 150 was appended about 5.1 s after the first check.
  CHECK(v.age_ms >= 14800);
  CHECK(v.age_ms <= 15000);
  CHECK(v.over);
  CHECK(v.worst == "orders-0");
  v = w.observe({part(0, 199, 200)}, 20000);
  CHECK(v.age_ms < 10100);  // 199 came at the end of the interval
  CHECK(v.age_ms > 9900);
  CHECK(v.what == lag_verdict::change::none);
  v = w.observe({part(0, 200, 200)}, 21000);
  CHECK(v.age_ms == 0);
  CHECK(v.what == lag_verdict::change::cleared);
}

TEST_CASE("a message older than the watch's history counts from the first check", "[group][lag]") {
  lag_watch w({.max_messages = 0, .max_age_ms = 5000});
  auto v = w.observe({part(0, std::nullopt, 30)}, 1000);  // nothing committed: from the start
  CHECK(v.lag == 30);
  CHECK(v.age_ms == 0);
  v = w.observe({part(0, std::nullopt, 30)}, 7000);
  CHECK(v.age_ms == 6000);  // at least that old
  CHECK(v.what == lag_verdict::change::raised);
}

TEST_CASE("a partition whose high watermark is unknown keeps its history and adds no lag",
          "[group][lag]") {
  lag_watch w({.max_messages = 10, .max_age_ms = 0});
  w.observe({part(0, 0, 5), part(1, 0, 20)}, 0);
  auto v = w.observe({part(0, 0, 5), part(1, 0, -1)}, 1000);
  CHECK(v.lag == 5);
  v = w.observe({part(0, 0, 5), part(1, 0, 20)}, 2000);
  CHECK(v.lag == 25);
  CHECK(v.age_ms == 2000);  // partition 1's history from the first check survived
}

TEST_CASE("a stuck consumer under steady produce keeps a bounded history and its age",
          "[group][lag]") {
  lag_watch w({.max_messages = 0, .max_age_ms = 60000});
  w.observe({part(0, 0, 0)}, 0);
  int64_t hw = 0;
  for (int64_t t = 1000; t <= 1000000; t += 1000) w.observe({part(0, 0, hw += 10)}, t);
  CHECK(w.points() <= lag_watch::max_points);
  auto v = w.observe({part(0, 0, hw)}, 1001000);
  CHECK(v.age_ms >= 1000000);  // offset 0 came in the first second
  CHECK(v.age_ms <= 1001000);
  CHECK(v.over);
}

TEST_CASE("with both bounds off the watch never alerts", "[group][lag]") {
  lag_watch w;
  CHECK_FALSE(w.thresholds().enabled());
  auto v = w.observe({part(0, 0, 1000000)}, 0);
  CHECK_FALSE(v.over);
  CHECK(v.what == lag_verdict::change::none);
}
