#include "actors/delay/timing_wheel.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <random>

#include "actors/delay/delay_levels.h"
#include "storage/errc.h"

using namespace actormq::delay;
using namespace std::chrono_literals;
using add_result = timing_wheel::add_result;

namespace {

timer_entry entry(int64_t due, uint64_t id, timer_kind kind = timer_kind::delayed_message) {
  return timer_entry{timestamp_ms(due), kind, timer_id(id)};
}

timing_wheel make_wheel(int64_t start = 0, timing_wheel_config cfg = {}) {
  auto w = timing_wheel::make(cfg, timestamp_ms(start));
  REQUIRE(w);
  return std::move(*w);
}

std::vector<uint64_t> ids(const std::vector<timer_entry>& v) {
  std::vector<uint64_t> out;
  for (const auto& e : v) out.push_back(e.id());
  return out;
}

}  // namespace

TEST_CASE("invalid wheel configurations are rejected") {
  using actormq::storage::errc;
  CHECK(timing_wheel::make({0ms, 64, 4}, timestamp_ms(0)).error() == errc::invalid_argument);
  CHECK(timing_wheel::make({1ms, 63, 4}, timestamp_ms(0)).error() == errc::invalid_argument);
  CHECK(timing_wheel::make({1ms, 8192, 2}, timestamp_ms(0)).error() == errc::invalid_argument);
  CHECK(timing_wheel::make({1ms, 64, 0}, timestamp_ms(0)).error() == errc::invalid_argument);
  CHECK(timing_wheel::make({1ms, 4096, 5}, timestamp_ms(0)).error() == errc::invalid_argument);
  CHECK(timing_wheel::make({1ms, 64, 4}, timestamp_ms(-1)).error() == errc::invalid_argument);
  CHECK(timing_wheel::make({10ms, 256, 3}, timestamp_ms(0)).has_value());
}

TEST_CASE("the default wheel window covers four and a half hours") {
  auto w = make_wheel();
  CHECK(w.min_window() == 16'515'072ms);
  CHECK(w.window_end() == timestamp_ms(16'777'216));
  auto later = make_wheel(16'777'216 - 1);
  CHECK(later.window_end()() - later.now()() >= later.min_window().count());
}

TEST_CASE("an entry fires exactly at its due millisecond and not before") {
  const int64_t t0 = 1'732'500'000'000;  // a realistic epoch time
  auto w = make_wheel(t0);
  REQUIRE(w.add(entry(t0 + 1000, 1)) == add_result::added);
  // 1000 ms ahead sits on level 1: next_due() is its cascade point, earlier.
  REQUIRE(w.next_due());
  CHECK(*w.next_due() <= timestamp_ms(t0 + 1000));
  CHECK(w.advance(timestamp_ms(t0 + 999)).empty());
  CHECK(w.next_due() == timestamp_ms(t0 + 1000));
  CHECK(w.size() == 1);
  auto fired = w.advance(timestamp_ms(t0 + 1000));
  REQUIRE(fired.size() == 1);
  CHECK(fired[0] == entry(t0 + 1000, 1));
  CHECK(w.empty());
  CHECK_FALSE(w.next_due());
}

TEST_CASE("every delay level fires at its exact millisecond") {
  const int64_t t0 = 1'732'500'000'123;
  auto w = make_wheel(t0);
  const auto& levels = delay_levels::message_defaults();
  for (size_t level = 1; level <= levels.size(); ++level) {
    REQUIRE(w.add(entry(t0 + levels.delay_of(level)->count(), level)) == add_result::added);
  }
  size_t fired = 0;
  for (size_t level = 1; level <= levels.size(); ++level) {
    const int64_t due = t0 + levels.delay_of(level)->count();
    CHECK(w.advance(timestamp_ms(due - 1)).empty());
    auto out = w.advance(timestamp_ms(due));
    REQUIRE(out.size() == 1);
    CHECK(out[0].id() == level);
    ++fired;
  }
  CHECK(fired == 18);
  CHECK(w.empty());
}

TEST_CASE("with a 10 ms tick an entry fires at the first tick at or after its due time") {
  auto w = make_wheel(1000, {10ms, 64, 3});
  REQUIRE(w.add(entry(1005, 1)) == add_result::added);
  REQUIRE(w.add(entry(1010, 2)) == add_result::added);
  REQUIRE(w.add(entry(1011, 3)) == add_result::added);
  CHECK(w.next_due() == timestamp_ms(1010));
  CHECK(w.advance(timestamp_ms(1009)).empty());
  CHECK(ids(w.advance(timestamp_ms(1010))) == std::vector<uint64_t>{1, 2});
  CHECK(w.advance(timestamp_ms(1019)).empty());
  CHECK(ids(w.advance(timestamp_ms(1020))) == std::vector<uint64_t>{3});
}

TEST_CASE("entries within one tick fire in due order then add order") {
  auto w = make_wheel(0, {10ms, 64, 3});
  REQUIRE(w.add(entry(1009, 1)) == add_result::added);
  REQUIRE(w.add(entry(1001, 2)) == add_result::added);
  REQUIRE(w.add(entry(1005, 3)) == add_result::added);
  REQUIRE(w.add(entry(1001, 4)) == add_result::added);
  CHECK(ids(w.advance(timestamp_ms(1010))) == std::vector<uint64_t>{2, 4, 3, 1});
}

TEST_CASE("the worked example of the header holds") {
  auto w = make_wheel(0, {1ms, 4, 3});
  CHECK(w.window_end() == timestamp_ms(64));
  REQUIRE(w.add(entry(2, 2)) == add_result::added);
  REQUIRE(w.add(entry(9, 9)) == add_result::added);
  REQUIRE(w.add(entry(40, 40)) == add_result::added);
  CHECK(w.add(entry(70, 70)) == add_result::overflow);
  CHECK(ids(w.advance(timestamp_ms(2))) == std::vector<uint64_t>{2});
  CHECK(w.next_due() == timestamp_ms(8));
  CHECK(w.advance(timestamp_ms(8)).empty());
  CHECK(w.next_due() == timestamp_ms(9));
  CHECK(ids(w.advance(timestamp_ms(9))) == std::vector<uint64_t>{9});
  CHECK(w.next_due() == timestamp_ms(32));
  CHECK(w.advance(timestamp_ms(32)).empty());
  CHECK(w.window_end() == timestamp_ms(96));
  CHECK(w.add(entry(70, 70)) == add_result::added);
  CHECK(w.next_due() == timestamp_ms(40));
  CHECK(ids(w.advance(timestamp_ms(40))) == std::vector<uint64_t>{40});
  CHECK(ids(w.advance(timestamp_ms(70))) == std::vector<uint64_t>{70});
}

TEST_CASE("entries minutes and hours ahead cascade down and fire at the right millisecond") {
  const int64_t t0 = 1'732'500'000'007;
  auto w = make_wheel(t0);
  const std::vector<int64_t> offsets{
      65,      4'097,           3 * 60'000 + 17, 262'143,
      262'145, 47 * 60'000 + 3, 2 * 3'600'000,   4 * 3'600'000 + 123};
  for (size_t i = 0; i < offsets.size(); ++i) {
    REQUIRE(w.add(entry(t0 + offsets[i], i)) == add_result::added);
  }
  // Walk the driver loop: sleep until next_due(), advance, repeat.
  std::vector<std::pair<int64_t, uint64_t>> fired;
  while (auto next = w.next_due()) {
    for (const auto& e : w.advance(*next)) fired.emplace_back(w.now()(), e.id());
  }
  REQUIRE(fired.size() == offsets.size());
  for (size_t i = 0; i < offsets.size(); ++i) {
    CHECK(fired[i].first == t0 + offsets[i]);
    CHECK(fired[i].second == i);
  }
}

TEST_CASE("a big jump of the clock fires everything in due order") {
  auto w = make_wheel(0);
  for (uint64_t i = 0; i < 1000; ++i) {
    REQUIRE(w.add(entry(static_cast<int64_t>((i * 7919) % 10'000'000 + 1), i)) ==
            add_result::added);
  }
  auto out = w.advance(timestamp_ms(20'000'000));
  REQUIRE(out.size() == 1000);
  CHECK(std::is_sorted(out.begin(), out.end(),
                       [](const timer_entry& a, const timer_entry& b) { return a.due < b.due; }));
  CHECK(w.empty());
}

TEST_CASE("a cancelled entry never fires") {
  auto w = make_wheel(0);
  REQUIRE(w.add(entry(10, 1)) == add_result::added);                              // level 0
  REQUIRE(w.add(entry(100'000, 2, timer_kind::txn_check)) == add_result::added);  // level 2
  REQUIRE(w.add(entry(100'000, 3)) == add_result::added);
  REQUIRE(w.add(entry(0, 4)) == add_result::added);  // already due: queued
  CHECK(w.size() == 4);
  CHECK(w.cancel({timer_kind::delayed_message, timer_id(1)}));
  CHECK(w.cancel({timer_kind::txn_check, timer_id(2)}));
  CHECK(w.cancel({timer_kind::delayed_message, timer_id(4)}));
  CHECK(w.size() == 1);
  CHECK_FALSE(w.contains({timer_kind::delayed_message, timer_id(1)}));
  CHECK(w.advance(timestamp_ms(99'999)).empty());
  CHECK(ids(w.advance(timestamp_ms(100'000))) == std::vector<uint64_t>{3});
  CHECK(w.empty());
}

TEST_CASE("cancelling an unknown or fired entry returns false") {
  auto w = make_wheel(0);
  REQUIRE(w.add(entry(5, 1)) == add_result::added);
  CHECK_FALSE(w.cancel({timer_kind::delayed_message, timer_id(2)}));
  CHECK_FALSE(w.cancel({timer_kind::consumer_retry, timer_id(1)}));
  CHECK(w.advance(timestamp_ms(5)).size() == 1);
  CHECK_FALSE(w.cancel({timer_kind::delayed_message, timer_id(1)}));
}

TEST_CASE("an entry cancelled after its cascade never fires") {
  auto w = make_wheel(0);
  REQUIRE(w.add(entry(5000, 1)) == add_result::added);
  REQUIRE(w.add(entry(5000, 2)) == add_result::added);
  CHECK(w.advance(timestamp_ms(4096)).empty());  // level 1 bucket cascaded to level 0
  CHECK(w.cancel({timer_kind::delayed_message, timer_id(1)}));
  CHECK(ids(w.advance(timestamp_ms(5000))) == std::vector<uint64_t>{2});
}

TEST_CASE("a key can be scheduled again after it was cancelled") {
  auto w = make_wheel(0);
  REQUIRE(w.add(entry(0, 1)) == add_result::added);
  CHECK(w.cancel({timer_kind::delayed_message, timer_id(1)}));
  REQUIRE(w.add(entry(3, 1)) == add_result::added);
  CHECK(w.advance(timestamp_ms(2)).empty());
  CHECK(ids(w.advance(timestamp_ms(3))) == std::vector<uint64_t>{1});
}

TEST_CASE("a duplicate key is rejected") {
  auto w = make_wheel(0);
  REQUIRE(w.add(entry(5, 1)) == add_result::added);
  CHECK(w.add(entry(9, 1)) == add_result::duplicate);
  CHECK(w.add(entry(9, 1, timer_kind::consumer_retry)) == add_result::added);
  CHECK(w.size() == 2);
}

TEST_CASE("100k entries in one slot fire in insertion order") {
  auto w = make_wheel(0);
  constexpr uint64_t n = 100'000;
  for (uint64_t i = 0; i < n; ++i) REQUIRE(w.add(entry(3'600'000, i)) == add_result::added);
  CHECK(w.advance(timestamp_ms(3'599'999)).empty());
  auto out = w.advance(timestamp_ms(3'600'000));
  REQUIRE(out.size() == n);
  for (uint64_t i = 0; i < n; ++i) {
    if (out[i].id() != i) FAIL("out of order at " << i);
  }
}

TEST_CASE("equal due times keep add order across cascades") {
  auto w = make_wheel(0);
  // a goes to level 2; by the time b is added, the same due time is near
  // enough for level 0. a was added first and must fire first.
  REQUIRE(w.add(entry(300'000, 1)) == add_result::added);
  CHECK(w.advance(timestamp_ms(299'950)).empty());
  REQUIRE(w.add(entry(300'000, 2)) == add_result::added);
  REQUIRE(w.add(entry(300'000, 3)) == add_result::added);
  CHECK(ids(w.advance(timestamp_ms(300'000))) == std::vector<uint64_t>{1, 2, 3});
}

TEST_CASE("entries past the window overflow and are not held") {
  auto w = make_wheel(0, {1ms, 64, 2});
  CHECK(w.window_end() == timestamp_ms(4096));
  CHECK(w.add(entry(4095, 1)) == add_result::added);
  CHECK(w.add(entry(4096, 2)) == add_result::overflow);
  CHECK(w.add(entry(30LL * 24 * 3600 * 1000, 3)) == add_result::overflow);
  CHECK(w.size() == 1);
  CHECK_FALSE(w.contains({timer_kind::delayed_message, timer_id(2)}));
  CHECK(w.advance(timestamp_ms(64)).empty());
  CHECK(w.window_end() == timestamp_ms(4096 + 64));
  CHECK(w.add(entry(4096, 2)) == add_result::added);
}

TEST_CASE("an entry added when already due is returned by the next advance") {
  auto w = make_wheel(1000);
  REQUIRE(w.add(entry(1001, 1)) == add_result::added);
  REQUIRE(w.add(entry(400, 2)) == add_result::added);
  REQUIRE(w.add(entry(1000, 3)) == add_result::added);
  CHECK(w.next_due() == timestamp_ms(1000));
  CHECK(ids(w.advance(timestamp_ms(1000))) == std::vector<uint64_t>{2, 3});
  CHECK(ids(w.advance(timestamp_ms(1001))) == std::vector<uint64_t>{1});
}

TEST_CASE("advance with a limit leaves the rest queued in order") {
  auto w = make_wheel(0);
  for (uint64_t i = 0; i < 10; ++i) REQUIRE(w.add(entry(5, i)) == add_result::added);
  CHECK(ids(w.advance(timestamp_ms(5), 4)) == std::vector<uint64_t>{0, 1, 2, 3});
  CHECK(w.size() == 6);
  CHECK(w.next_due() == timestamp_ms(5));
  CHECK(ids(w.advance(timestamp_ms(5), 4)) == std::vector<uint64_t>{4, 5, 6, 7});
  CHECK(ids(w.advance(timestamp_ms(6))) == std::vector<uint64_t>{8, 9});
}

TEST_CASE("the clock never moves backwards") {
  auto w = make_wheel(1000);
  CHECK(w.advance(timestamp_ms(500)).empty());
  CHECK(w.now() == timestamp_ms(1000));
  REQUIRE(w.add(entry(1001, 1)) == add_result::added);
  CHECK(w.advance(timestamp_ms(0)).empty());
  CHECK(w.advance(timestamp_ms(1001)).size() == 1);
}

TEST_CASE("randomized adds cancels and advances match a sorted model") {
  struct shape {
    timing_wheel_config cfg;
    int64_t horizon;  // how far ahead due times are drawn
  };
  const std::vector<shape> shapes{
      {{1ms, 4, 3}, 80},          {{1ms, 8, 2}, 70},      {{10ms, 4, 4}, 3000},
      {{1ms, 64, 4}, 20'000'000}, {{3ms, 16, 3}, 15'000},
  };
  for (uint32_t seed : {1u, 2u, 3u, 42u}) {
    for (const auto& s : shapes) {
      INFO("seed " << seed << " tick " << s.cfg.tick.count() << " slots " << s.cfg.slots
                   << " levels " << s.cfg.levels);
      std::mt19937_64 rng(seed);
      const int64_t t0 = static_cast<int64_t>(rng() % 1'000'000'000);
      auto w = make_wheel(t0, s.cfg);
      const int64_t tick = s.cfg.tick.count();
      // key -> (due, add sequence); only entries the wheel accepted.
      std::map<uint64_t, std::pair<int64_t, uint64_t>> model;
      uint64_t next_id = 0;
      uint64_t seq = 0;
      int64_t now = t0;
      for (int step = 0; step < 20000; ++step) {
        const auto op = rng() % 10;
        if (op < 6) {
          // Due strictly after the clock's tick: late adds have their own test.
          const int64_t due = (now / tick + 1) * tick +
                              static_cast<int64_t>(rng() % static_cast<uint64_t>(s.horizon));
          const uint64_t id = next_id++;
          const auto expected = due < w.window_end()() ? add_result::added : add_result::overflow;
          REQUIRE(w.add(entry(due, id)) == expected);
          if (expected == add_result::added) model[id] = {due, seq++};
        } else if (op < 7 && !model.empty()) {
          auto it = model.begin();
          std::advance(it, static_cast<long>(rng() % model.size()));
          REQUIRE(w.cancel({timer_kind::delayed_message, timer_id(it->first)}));
          model.erase(it);
        } else {
          const int64_t step_ms =
              static_cast<int64_t>(rng() % static_cast<uint64_t>(s.horizon / 8 + 2));
          now += step_ms;
          const int64_t now_tick = now / tick;
          std::vector<std::tuple<int64_t, uint64_t, uint64_t>> expected;
          for (auto it = model.begin(); it != model.end();) {
            const int64_t due = it->second.first;
            const int64_t due_tick = (due + tick - 1) / tick;
            if (due_tick <= now_tick) {
              expected.emplace_back(due, it->second.second, it->first);
              it = model.erase(it);
            } else {
              ++it;
            }
          }
          std::sort(expected.begin(), expected.end());
          auto got = w.advance(timestamp_ms(now));
          REQUIRE(got.size() == expected.size());
          for (size_t i = 0; i < got.size(); ++i) {
            REQUIRE(got[i].id() == std::get<2>(expected[i]));
            REQUIRE(got[i].due() <= now);
          }
          REQUIRE(w.size() == model.size());
          if (auto next = w.next_due()) {
            for (const auto& [id, v] : model) REQUIRE(next->value() <= v.first + tick - 1);
          } else {
            REQUIRE(model.empty());
          }
        }
      }
    }
  }
}

TEST_CASE("100k pending entries over two hours each fire at their due millisecond") {
  const int64_t t0 = 1'732'500'000'000;
  auto w = make_wheel(t0);
  std::mt19937_64 rng(7);
  std::vector<int64_t> due(100'000);
  for (uint64_t i = 0; i < due.size(); ++i) {
    due[i] = t0 + 1 + static_cast<int64_t>(rng() % (2 * 3'600'000));
    REQUIRE(w.add(entry(due[i], i)) == add_result::added);
  }
  // The driver loop: arm the timer at next_due(), advance there, repeat.
  size_t fired = 0;
  size_t wakeups = 0;
  int64_t last_due = 0;
  while (auto next = w.next_due()) {
    ++wakeups;
    for (const auto& e : w.advance(*next)) {
      if (e.due() != w.now()()) FAIL("entry " << e.id() << " fired late or early");
      if (e.due() < last_due) FAIL("out of due order");
      last_due = e.due();
      ++fired;
    }
  }
  CHECK(fired == due.size());
  // Wake-ups: one per distinct due millisecond plus at most one cascade
  // point per level-1, level-2 and level-3 bucket of the two hours.
  std::sort(due.begin(), due.end());
  const auto distinct = static_cast<size_t>(std::unique(due.begin(), due.end()) - due.begin());
  CHECK(wakeups <= distinct + 7'200'000 / 64 + 7'200'000 / 4096 + 7'200'000 / 262'144 + 3);
}
