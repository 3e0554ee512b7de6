// The timing wheel fed from the schedule store the way the delay actor will
// drive them (docs/delay-scheduler.md): every entry goes to the store, and a
// bucket is loaded into the wheel before any direct add into it.

#include <catch2/catch.hpp>

#include "actors/delay/timing_wheel.h"
#include "storage/schedule_store.h"
#include "support/temp_dir.h"

using namespace actormq::delay;
using actormq::storage::schedule_entry;
using actormq::storage::schedule_store;
using actormq::test::temp_dir;

namespace {

constexpr int64_t minute = 60'000;
constexpr int64_t t0 = 1'732'500'000'000;

schedule_entry stored(const timer_entry& e) {
  return {e.due, static_cast<uint8_t>(e.kind), e.id()};
}
timer_entry timer(const schedule_entry& e) {
  return {e.due, static_cast<timer_kind>(e.kind), timer_id(e.id)};
}

// A minimal driver: the loaded frontier and the two parts.
struct driver {
  std::unique_ptr<schedule_store> store;
  timing_wheel wheel;
  int64_t loaded_until;

  driver(const std::filesystem::path& dir, int64_t now)
      : store(schedule_store::open(dir, {}).value()),
        wheel(timing_wheel::make({}, timestamp_ms(now)).value()),
        loaded_until(store->bucket_of(timestamp_ms(now))()) {
    load_through(now + minute);
  }
  void load_through(int64_t horizon) {
    while (loaded_until < horizon) {
      auto b = store->load_bucket(timestamp_ms(loaded_until));
      REQUIRE(b);
      for (const auto& e : b->entries)
        REQUIRE(wheel.add(timer(e)) == timing_wheel::add_result::added);
      loaded_until += minute;
    }
  }
  void add(const timer_entry& e) {
    REQUIRE(store->add(stored(e)));
    if (store->bucket_of(e.due)() < loaded_until) {
      REQUIRE(wheel.add(e) == timing_wheel::add_result::added);
    }
  }
  std::vector<uint64_t> advance(int64_t now) {
    load_through(now + minute);
    std::vector<uint64_t> ids;
    for (const auto& e : wheel.advance(timestamp_ms(now))) ids.push_back(e.id());
    return ids;
  }
};

timer_entry msg(int64_t due, uint64_t id) {
  return {timestamp_ms(due), timer_kind::delayed_message, timer_id(id)};
}

}  // namespace

TEST_CASE("same due time entries keep add order across loading and restart") {
  temp_dir d;
  const int64_t due = t0 + 10 * minute + 500;
  {
    driver s(d.path(), t0);
    s.add(msg(due, 1));  // far: store only
    s.add(msg(due, 2));
    CHECK(s.wheel.size() == 0);
    CHECK(s.advance(due - 30'000).empty());  // the bucket is loaded now
    CHECK(s.wheel.size() == 2);
    s.add(msg(due, 3));  // near: store and wheel
    s.add(msg(due, 4));
    REQUIRE(s.store->flush());
    CHECK(s.advance(due) == std::vector<uint64_t>{1, 2, 3, 4});
  }
  // Crash before anything was marked delivered: all four come back, in order.
  driver again(d.path(), due + 5);
  CHECK(again.advance(due + 5) == std::vector<uint64_t>{1, 2, 3, 4});
}

TEST_CASE("entries marked delivered do not come back after a restart") {
  temp_dir d;
  {
    driver s(d.path(), t0);
    s.add(msg(t0 + 100, 1));
    s.add(msg(t0 + 200, 2));
    s.add(msg(t0 + 300, 3));
    CHECK(s.advance(t0 + 200) == std::vector<uint64_t>{1, 2});
    REQUIRE(s.store->mark_delivered(timestamp_ms(t0 + 200)));
    REQUIRE(s.store->flush());
  }
  driver again(d.path(), t0 + 250);
  CHECK(again.wheel.size() == 1);
  CHECK(again.advance(t0 + 300) == std::vector<uint64_t>{3});
}
