// log::advance_start: the persisted logical log start (bounded topics).

#include <catch2/catch.hpp>

#include "storage/log.h"
#include "storage/log_test_util.h"
#include "support/temp_dir.h"

using namespace actormq::storage;
using namespace actormq::storage::test;
using actormq::test::temp_dir;

namespace {

/// Appends n one-record batches at the clock's time; returns one batch's size.
size_t append_records(partition_log& l, const manual_clock& clock, int n) {
  size_t sz = 0;
  for (int i = 0; i < n; ++i) {
    auto b = numbered_batch("r" + std::to_string(i), 1, clock.now(), 40);
    sz = b.size();
    REQUIRE(append_copy(l, b));
  }
  return sz;
}

}  // namespace

TEST_CASE("advance start makes reads below the new start out of range") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 1 << 20));
  append_records(*l, clock, 10);
  REQUIRE(l->advance_start(offset(4)));
  CHECK(l->log_start_offset() == offset(4));
  auto below = l->read(offset(3), 1 << 20);
  REQUIRE_FALSE(below);
  CHECK(below.error() == errc::offset_out_of_range);
  auto rs = read_all(*l, offset(4));
  REQUIRE(rs.size() == 6);
  CHECK(rs.front().off == offset(4));
  CHECK(l->high_watermark() == offset(10));
}

TEST_CASE("advance start never moves the start back and stops at the log end") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 1 << 20));
  append_records(*l, clock, 5);
  REQUIRE(l->advance_start(offset(3)));
  REQUIRE(l->advance_start(offset(1)));
  CHECK(l->log_start_offset() == offset(3));
  REQUIRE(l->advance_start(offset(99)));
  CHECK(l->log_start_offset() == offset(5));
  auto empty = l->read(offset(5), 1 << 20);
  REQUIRE(empty);
  CHECK(empty->length == 0);
}

TEST_CASE("the advanced start survives a reopen") {
  temp_dir dir;
  manual_clock clock;
  auto cfg = small_config(clock, 1 << 20);
  {
    auto l = open_log(dir.path(), cfg);
    append_records(*l, clock, 8);
    REQUIRE(l->advance_start(offset(6)));
    CHECK(fs::exists(dir.path() / "log_start"));
  }
  auto l = open_log(dir.path(), cfg);
  CHECK(l->log_start_offset() == offset(6));
  CHECK_FALSE(l->read(offset(5), 1 << 20));
  CHECK(read_all(*l, offset(6)).size() == 2);
}

TEST_CASE("retention deletes segments wholly below the advanced start") {
  temp_dir dir;
  manual_clock clock;
  auto probe = numbered_batch("r0", 1, clock.now(), 40).size();
  auto l = open_log(dir.path(), small_config(clock, 3 * probe));  // three records per segment
  append_records(*l, clock, 9);
  REQUIRE(l->segment_count() == 3);
  REQUIRE(l->advance_start(offset(4)));
  auto n = l->apply_retention();
  REQUIRE(n);
  CHECK(*n == 1);  // [0, 3) goes; [3, 6) still holds offsets 4 and 5
  CHECK(l->segments().front()->base_offset() == offset(3));
  CHECK(l->log_start_offset() == offset(4));
  CHECK(read_all(*l, offset(4)).size() == 5);
}

TEST_CASE("a malformed log start file is ignored on open") {
  temp_dir dir;
  manual_clock clock;
  auto cfg = small_config(clock, 1 << 20);
  {
    auto l = open_log(dir.path(), cfg);
    append_records(*l, clock, 3);
  }
  write_whole(dir.path() / "log_start", "garbage\n");
  auto l = open_log(dir.path(), cfg);
  CHECK(l->log_start_offset() == offset(0));
}

TEST_CASE("a log start past the recovered end is lowered to the end") {
  temp_dir dir;
  manual_clock clock;
  auto cfg = small_config(clock, 1 << 20);
  {
    auto l = open_log(dir.path(), cfg);
    append_records(*l, clock, 3);
  }
  write_whole(dir.path() / "log_start", "50\n");
  auto l = open_log(dir.path(), cfg);
  CHECK(l->log_start_offset() == offset(3));
  auto r = append_copy(*l, numbered_batch("x", 1, clock.now(), 40));
  REQUIRE(r);
  CHECK(r->base_offset == offset(3));
  CHECK(l->log_start_offset() == offset(3));
}
