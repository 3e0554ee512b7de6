// Rolling segments by size and age, and deleting them by retention.

#include <catch2/catch.hpp>

#include "storage/log.h"
#include "storage/log_test_util.h"
#include "support/temp_dir.h"

using namespace actormq::storage;
using namespace actormq::storage::test;
using actormq::test::temp_dir;

namespace {

std::vector<int64_t> bases(const partition_log& l) {
  std::vector<int64_t> out;
  for (const auto& s : l.segments()) out.push_back(s->base_offset()());
  return out;
}

/// Appends n one-record batches of exactly the same size at the clock's time.
size_t append_n(partition_log& l, const manual_clock& clock, int n, size_t value_bytes = 40) {
  size_t sz = 0;
  for (int i = 0; i < n; ++i) {
    auto b = numbered_batch("r", 1, clock.now(), value_bytes);
    sz = b.size();
    REQUIRE(append_copy(l, b));
  }
  return sz;
}

}  // namespace

TEST_CASE("a segment rolls when the next batch would pass segment bytes") {
  temp_dir dir;
  manual_clock clock;
  auto probe = numbered_batch("r", 1, clock.now(), 40).size();
  auto cfg = small_config(clock, 3 * probe);  // exactly three batches fit
  auto l = open_log(dir.path(), cfg);
  append_n(*l, clock, 3);
  CHECK(bases(*l) == std::vector<int64_t>{0});
  CHECK(l->segments()[0]->size_bytes() == 3 * probe);
  append_n(*l, clock, 1);
  CHECK(bases(*l) == std::vector<int64_t>{0, 3});
  append_n(*l, clock, 5);
  CHECK(bases(*l) == std::vector<int64_t>{0, 3, 6});
  for (auto b : {0, 3, 6}) CHECK(fs::exists(seg_path(dir.path(), offset(b), "log")));
  CHECK(l->segments()[1]->size_bytes() == 3 * probe);
  CHECK(l->segments()[2]->size_bytes() == 3 * probe);
}

TEST_CASE("a batch larger than segment bytes gets a segment of its own") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 200));
  append_n(*l, clock, 1, 20);
  auto big = numbered_batch("big", 3, clock.now(), 100);
  REQUIRE(big.size() > 200);
  auto r = append_copy(*l, big);
  REQUIRE(r);
  CHECK(r->base_offset == offset(1));
  append_n(*l, clock, 1, 20);
  CHECK(bases(*l) == std::vector<int64_t>{0, 1, 4});
  CHECK(l->segments()[1]->size_bytes() == big.size());
  auto got = read_all(*l, offset(0));
  REQUIRE(got.size() == 5);
  CHECK(got[1].key == "big-k0");
  CHECK(got[3].key == "big-k2");
}

TEST_CASE("a segment rolls by age on the first append after segment ms") {
  temp_dir dir;
  manual_clock clock;
  auto cfg = small_config(clock, 1 << 20);
  cfg.segment_ms = 1000;
  auto l = open_log(dir.path(), cfg);
  append_n(*l, clock, 2);
  clock.advance(999);
  append_n(*l, clock, 1);
  CHECK(bases(*l) == std::vector<int64_t>{0});
  clock.advance(1);
  append_n(*l, clock, 1);
  CHECK(bases(*l) == std::vector<int64_t>{0, 3});
  // The age counts from the new segment's creation, not from the log's.
  clock.advance(500);
  append_n(*l, clock, 1);
  CHECK(bases(*l) == std::vector<int64_t>{0, 3});
  clock.advance(500);
  append_n(*l, clock, 1);
  CHECK(bases(*l) == std::vector<int64_t>{0, 3, 5});
}

TEST_CASE("a segment does not roll by age because producer timestamps are old") {
  temp_dir dir;
  manual_clock clock(10'000'000);
  auto cfg = small_config(clock, 1 << 20);
  cfg.segment_ms = 1000;
  auto l = open_log(dir.path(), cfg);
  for (int i = 0; i < 5; ++i) {
    // Producer timestamps a day before the broker's clock.
    REQUIRE(append_copy(*l, numbered_batch("old", 1, timestamp_ms(10'000'000 - 86'400'000))));
  }
  CHECK(bases(*l) == std::vector<int64_t>{0});
  clock.advance(1000);
  REQUIRE(append_copy(*l, numbered_batch("old", 1, timestamp_ms(0))));
  CHECK(bases(*l) == std::vector<int64_t>{0, 5});
}

TEST_CASE(
    "producer timestamps at the ends of the int64 range neither overflow a segment's age nor "
    "its retention") {
  // Found by the log_recovery fuzzer (UBSan): reopened, a segment whose
  // first record says -2^63 is taken as created then, and now - created
  // overflowed on the next append.
  temp_dir dir;
  manual_clock clock(10'000'000);
  auto cfg = small_config(clock, 1 << 20);
  cfg.segment_ms = 1000;
  cfg.retention_ms = 5000;
  {
    auto l = open_log(dir.path(), cfg);
    REQUIRE(append_copy(*l, numbered_batch("min", 1, timestamp_ms(INT64_MIN))));
    REQUIRE(l->close());
  }
  auto l = open_log(dir.path(), cfg);
  // Older than segment_ms by far: the next batch starts a new segment.
  REQUIRE(append_copy(*l, numbered_batch("max", 1, timestamp_ms(INT64_MAX))));
  CHECK(bases(*l) == std::vector<int64_t>{0, 1});
  REQUIRE(l->roll());
  // Segment 0's record is from -2^63: past retention. Segment 1's is from
  // 2^63-1 ms: not yet.
  auto deleted = l->apply_retention();
  REQUIRE(deleted);
  CHECK(bases(*l) == std::vector<int64_t>{1, 2});
}

TEST_CASE("roll starts a new segment at the next offset and is a no op when empty") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 1 << 20));
  append_n(*l, clock, 4);
  REQUIRE(l->roll());
  CHECK(bases(*l) == std::vector<int64_t>{0, 4});
  REQUIRE(l->roll());
  CHECK(bases(*l) == std::vector<int64_t>{0, 4});
  CHECK(l->segments().back()->empty());
  CHECK(fs::file_size(seg_path(dir.path(), offset(4), "log")) == 0);
  // The rolled segment's index files are written; its data waits for the
  // next sync (log_recovery_point_test.cpp).
  CHECK(fs::file_size(seg_path(dir.path(), offset(0), "index")) ==
        l->segments()[0]->index().entries().size() * offset_index::entry_size);
  CHECK(fs::file_size(seg_path(dir.path(), offset(0), "timeindex")) ==
        l->segments()[0]->timeindex().entries().size() * time_index::entry_size);
  CHECK(l->flushed_offset() == offset(0));
  CHECK(l->closed_unsynced());
  REQUIRE(l->flush());
  CHECK(l->flushed_offset() == offset(4));
  CHECK(read_all(*l, offset(0)).size() == 4);
}

TEST_CASE("size retention deletes whole oldest segments and advances the log start") {
  temp_dir dir;
  manual_clock clock;
  auto probe = numbered_batch("r", 1, clock.now(), 40).size();
  auto cfg = small_config(clock, 2 * probe);  // two records per segment
  cfg.retention_bytes = static_cast<int64_t>(5 * probe);
  auto l = open_log(dir.path(), cfg);
  append_n(*l, clock, 9);  // segments 0,2,4,6 full, 8 active with one record
  CHECK(bases(*l) == std::vector<int64_t>{0, 2, 4, 6, 8});
  auto deleted = l->apply_retention();
  REQUIRE(deleted);
  // 9 batches > 5: drop [0,2) -> 7, drop [2,4) -> 5, which is within the limit.
  CHECK(*deleted == 2);
  CHECK(bases(*l) == std::vector<int64_t>{4, 6, 8});
  CHECK(l->log_start_offset() == offset(4));
  CHECK(l->size_bytes() == 5 * probe);
  CHECK_FALSE(fs::exists(seg_path(dir.path(), offset(0), "log")));
  CHECK_FALSE(fs::exists(seg_path(dir.path(), offset(0), "index")));
  CHECK_FALSE(fs::exists(seg_path(dir.path(), offset(0), "timeindex")));
  CHECK_FALSE(fs::exists(seg_path(dir.path(), offset(2), "log")));
  CHECK(l->read(offset(3), 100).error() == errc::offset_out_of_range);
  CHECK(l->read(offset(0), 100).error() == errc::offset_out_of_range);
  auto got = read_all(*l, offset(4));
  REQUIRE(got.size() == 5);
  CHECK(got.front().off == offset(4));
  CHECK(got.back().off == offset(8));
  auto again = l->apply_retention();
  REQUIRE(again);
  CHECK(*again == 0);
}

TEST_CASE("size retention never deletes the active segment") {
  temp_dir dir;
  manual_clock clock;
  auto cfg = small_config(clock, 1 << 20);
  cfg.retention_bytes = 10;
  auto l = open_log(dir.path(), cfg);
  append_n(*l, clock, 5);
  auto deleted = l->apply_retention();
  REQUIRE(deleted);
  CHECK(*deleted == 0);
  CHECK(l->log_start_offset() == offset(0));
  CHECK(read_all(*l, offset(0)).size() == 5);
}

TEST_CASE("time retention deletes segments whose newest record is older than retention ms") {
  temp_dir dir;
  manual_clock clock(1'000'000);
  auto probe = numbered_batch("r", 1, clock.now(), 40).size();
  auto cfg = small_config(clock, 2 * probe);
  cfg.retention_ms = 10'000;
  auto l = open_log(dir.path(), cfg);
  append_n(*l, clock, 2);  // segment 0 at t=1'000'000
  clock.advance(5'000);
  append_n(*l, clock, 2);  // segment 2 at t=1'005'000
  clock.advance(5'000);
  append_n(*l, clock, 1);  // active segment 4 at t=1'010'000
  REQUIRE(bases(*l) == std::vector<int64_t>{0, 2, 4});

  clock.set(1'010'000);  // segment 0 is exactly retention_ms old: kept
  CHECK(*l->apply_retention() == 0);
  clock.set(1'010'001);
  CHECK(*l->apply_retention() == 1);
  CHECK(bases(*l) == std::vector<int64_t>{2, 4});
  CHECK(l->log_start_offset() == offset(2));
  CHECK(l->read(offset(1), 10).error() == errc::offset_out_of_range);
  clock.set(1'015'001);
  CHECK(*l->apply_retention() == 1);
  CHECK(bases(*l) == std::vector<int64_t>{4});
  CHECK(read_all(*l, offset(4)).size() == 1);
}

TEST_CASE("time retention rolls an expired active segment and deletes it") {
  temp_dir dir;
  manual_clock clock(1'000'000);
  auto cfg = small_config(clock, 1 << 20);
  cfg.retention_ms = 1'000;
  auto l = open_log(dir.path(), cfg);
  append_n(*l, clock, 3);
  clock.advance(1'001);
  auto deleted = l->apply_retention();
  REQUIRE(deleted);
  CHECK(*deleted == 1);
  CHECK(bases(*l) == std::vector<int64_t>{3});
  CHECK(l->segments().back()->empty());
  CHECK(l->log_start_offset() == offset(3));
  CHECK(l->next_offset() == offset(3));
  CHECK(l->read(offset(2), 10).error() == errc::offset_out_of_range);
  auto empty = l->read(offset(3), 10);
  REQUIRE(empty);
  CHECK(empty->length == 0);
  auto r = append_copy(*l, numbered_batch("new", 1, clock.now()));
  REQUIRE(r);
  CHECK(r->base_offset == offset(3));
  CHECK(*l->apply_retention() == 0);
}

TEST_CASE("the log start after retention survives a reopen") {
  temp_dir dir;
  manual_clock clock;
  auto probe = numbered_batch("r", 1, clock.now(), 40).size();
  auto cfg = small_config(clock, 2 * probe);
  cfg.retention_bytes = static_cast<int64_t>(3 * probe);
  {
    auto l = open_log(dir.path(), cfg);
    append_n(*l, clock, 7);
    REQUIRE(l->apply_retention());
    CHECK(l->log_start_offset() == offset(4));
    REQUIRE(l->close());
  }
  recovery_report report;
  auto l = open_log(dir.path(), cfg, &report);
  CHECK(report.events.empty());
  CHECK(l->log_start_offset() == offset(4));
  CHECK(l->next_offset() == offset(7));
  CHECK(l->read(offset(3), 10).error() == errc::offset_out_of_range);
  CHECK(read_all(*l, offset(4)).size() == 3);
}
