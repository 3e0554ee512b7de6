#include "actors/delay/delay_levels.h"

#include <catch2/catch.hpp>

#include "storage/errc.h"

using namespace actormq::delay;
using namespace std::chrono_literals;
using actormq::storage::errc;

TEST_CASE("every default delay level maps to its duration") {
  const auto& levels = delay_levels::message_defaults();
  const std::vector<milliseconds> expected{1s,   5s,    10s,   30s,   1min,  2min,
                                           3min, 4min,  5min,  6min,  7min,  8min,
                                           9min, 10min, 20min, 30min, 60min, 120min};
  REQUIRE(levels.size() == 18);
  for (size_t level = 1; level <= 18; ++level) {
    auto d = levels.delay_of(level);
    REQUIRE(d);
    CHECK(*d == expected[level - 1]);
    CHECK(levels.level_of(*d) == level);
  }
  CHECK(levels.to_string() == "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h");
}

TEST_CASE("level 0 and levels past the end are invalid") {
  const auto& levels = delay_levels::message_defaults();
  CHECK(levels.delay_of(0).error() == errc::invalid_argument);
  CHECK(levels.delay_of(19).error() == errc::invalid_argument);
  CHECK(levels.level_of(7s) == 0);
}

TEST_CASE("durations parse with ms s m h and d units") {
  CHECK(*parse_duration("250ms") == 250ms);
  CHECK(*parse_duration("90s") == 90s);
  CHECK(*parse_duration("1m") == 60s);
  CHECK(*parse_duration("2h") == 7200s);
  CHECK(*parse_duration("30d") == milliseconds(30LL * 24 * 3600 * 1000));
  CHECK(*parse_duration("1h30m") == 90min);
  CHECK(*parse_duration("1m30s500ms") == 90500ms);
  CHECK(*parse_duration("0s") == 0ms);
  CHECK(*parse_duration("365d") == max_delay);
}

TEST_CASE("malformed durations are rejected") {
  for (const char* bad :
       {"", "5", "5x", "-1s", "s", "1.5s", "1 s", "1S", "366d", "1h-5m", "99999999999999999999s"}) {
    INFO(bad);
    CHECK(parse_duration(bad).error() == errc::invalid_argument);
  }
}

TEST_CASE("format_duration reads back through parse_duration") {
  for (milliseconds d :
       std::vector<milliseconds>{0ms, 1ms, 999ms, 1000ms, 90s, 60s, 5400s, 86400s + 1ms,
                                 milliseconds(30LL * 24 * 3600 * 1000)}) {
    auto text = format_duration(d);
    INFO(text);
    CHECK(*parse_duration(text) == d);
  }
  CHECK(format_duration(90s) == "1m30s");
  CHECK(format_duration(2h) == "2h");
}

TEST_CASE("a custom level list must be increasing and positive") {
  auto ok = delay_levels::parse("1s, 2s,3s 1h");
  REQUIRE(ok);
  CHECK(ok->size() == 4);
  CHECK(*ok->delay_of(4) == 1h);
  CHECK(delay_levels::parse("").error() == errc::invalid_argument);
  CHECK(delay_levels::parse("5s 1s").error() == errc::invalid_argument);
  CHECK(delay_levels::parse("1s 1s").error() == errc::invalid_argument);
  CHECK(delay_levels::parse("0s 1s").error() == errc::invalid_argument);
  CHECK(delay_levels::parse("1s bogus").error() == errc::invalid_argument);
  CHECK(delay_levels::make({1s, milliseconds(30LL * 24 * 3600 * 1000)}).has_value());
  CHECK(delay_levels::make({1s, max_delay + 1ms}).error() == errc::invalid_argument);
}

TEST_CASE("retry attempts past the backoff list use the last delay") {
  const auto& backoff = delay_levels::retry_defaults();
  CHECK(backoff.to_string() == "1s 5s 30s 1m 5m");
  CHECK(*backoff.delay_of_attempt(1) == 1s);
  CHECK(*backoff.delay_of_attempt(3) == 30s);
  CHECK(*backoff.delay_of_attempt(5) == 5min);
  CHECK(*backoff.delay_of_attempt(6) == 5min);
  CHECK(*backoff.delay_of_attempt(1000) == 5min);
  CHECK(backoff.delay_of_attempt(0).error() == errc::invalid_argument);
}
