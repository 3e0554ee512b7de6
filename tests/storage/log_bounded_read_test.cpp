// read(start, max_bytes, end_limit): whole batches below a limit (the high
// watermark of a replicated partition), never one that reaches it.

#include <catch2/catch.hpp>

#include "storage/log.h"
#include "storage/log_test_util.h"
#include "support/temp_dir.h"

using namespace actormq::storage;
using namespace actormq::storage::test;
using actormq::test::temp_dir;

namespace {

/// Appends batches of the given record counts; returns each batch's
/// [base, next) offsets.
std::vector<std::pair<offset, offset>> fill(partition_log& l, const manual_clock& clock,
                                            const std::vector<int>& counts) {
  std::vector<std::pair<offset, offset>> out;
  for (size_t b = 0; b < counts.size(); ++b) {
    auto r = append_copy(l, numbered_batch("b" + std::to_string(b), counts[b], clock.now(), 30));
    REQUIRE(r);
    out.emplace_back(r->base_offset, r->last_offset + 1);
  }
  return out;
}

/// Reads from `from` with the limit until it returns an empty slice; checks
/// every slice is whole batches below limit and that slices chain. Returns
/// the offsets read.
std::vector<offset> read_below_limit(const partition_log& l, offset from, uint64_t max_bytes,
                                     offset limit) {
  std::vector<offset> out;
  offset at = from;
  for (int guard = 0;; ++guard) {
    REQUIRE(guard < 100'000);
    auto s = l.read(at, max_bytes, limit);
    REQUIRE(s);
    if (s->length == 0) {
      CHECK(s->first_offset == at);
      CHECK(s->next_offset == at);
      break;
    }
    CHECK(s->first_offset <= at);
    CHECK(s->next_offset > at);
    CHECK(s->next_offset <= limit);  // every batch ends below the limit
    auto rs = records_of(slice_bytes(*s));
    REQUIRE(!rs.empty());
    CHECK(rs.back().off + 1 == s->next_offset);
    for (const auto& r : rs) {
      if (r.off >= at) out.push_back(r.off);
    }
    at = s->next_offset;
  }
  return out;
}

std::vector<offset> range(int64_t from, int64_t to) {
  std::vector<offset> out;
  for (int64_t o = from; o < to; ++o) out.push_back(offset(o));
  return out;
}

/// The last batch boundary at or below limit.
offset boundary_at_or_below(const std::vector<std::pair<offset, offset>>& batches, offset limit) {
  offset b(0);
  for (const auto& [base, next] : batches) {
    if (next <= limit) b = next;
  }
  return b;
}

}  // namespace

TEST_CASE("a bounded read of many small batches stops before every possible limit") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 1024));
  std::vector<int> counts;
  for (int i = 0; i < 120; ++i) counts.push_back(1 + i % 3);
  auto batches = fill(*l, clock, counts);
  REQUIRE(l->segment_count() > 5);  // limits fall in the middle and at the ends of segments
  const auto end = l->next_offset();
  for (int64_t lim = 0; lim <= end(); ++lim) {
    INFO("limit " << lim);
    auto limit = offset(lim);
    auto want = boundary_at_or_below(batches, limit);
    CHECK(read_below_limit(*l, offset(0), 1 << 20, limit) == range(0, want()));
    CHECK(read_below_limit(*l, offset(0), 1, limit) == range(0, want()));  // a batch per slice
  }
}

TEST_CASE("a bounded read with a limit inside a batch leaves that whole batch out") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 1 << 20));
  fill(*l, clock, {3, 3, 3});  // [0,3) [3,6) [6,9)
  auto s = l->read(offset(0), 1 << 20, offset(5));
  REQUIRE(s);
  CHECK(s->first_offset == offset(0));
  CHECK(s->next_offset == offset(3));
  CHECK(records_of(slice_bytes(*s)).size() == 3);
}

TEST_CASE("a bounded read whose first batch reaches the limit is empty at the start offset") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 1 << 20));
  fill(*l, clock, {3, 3, 3});
  for (int64_t start : {3, 4, 5}) {
    auto s = l->read(offset(start), 1 << 20, offset(5));
    REQUIRE(s);
    CHECK(s->length == 0);
    CHECK(s->first_offset == offset(start));
    CHECK(s->next_offset == offset(start));
  }
}

TEST_CASE("a bounded read with the limit at a batch boundary includes the batch before it") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 1 << 20));
  fill(*l, clock, {3, 3, 3});
  auto s = l->read(offset(4), 1 << 20, offset(6));
  REQUIRE(s);
  CHECK(s->first_offset == offset(3));
  CHECK(s->next_offset == offset(6));
  auto at_limit = l->read(offset(6), 1 << 20, offset(6));
  REQUIRE(at_limit);
  CHECK(at_limit->length == 0);
}

TEST_CASE("a bounded read across a segment roll stops at the limit in the next segment") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 1 << 20));
  fill(*l, clock, {2, 2});  // [0,2) [2,4)
  REQUIRE(l->roll());
  fill(*l, clock, {2, 2});  // [4,6) [6,8) in the second segment
  REQUIRE(l->segment_count() == 2);
  CHECK(read_below_limit(*l, offset(0), 1 << 20, offset(7)) == range(0, 6));
  CHECK(read_below_limit(*l, offset(3), 1 << 20, offset(7)) == range(3, 6));
  // The limit at the roll: the first segment whole, nothing from the second.
  CHECK(read_below_limit(*l, offset(0), 1 << 20, offset(4)) == range(0, 4));
  auto at_roll = l->read(offset(4), 1 << 20, offset(4));
  REQUIRE(at_roll);
  CHECK(at_roll->length == 0);
  CHECK(at_roll->first_offset == offset(4));
}

TEST_CASE("a bounded read between the limit and the log end is empty and above it out of range") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 1 << 20));
  fill(*l, clock, {3, 3, 3});
  for (int64_t start = 6; start <= 9; ++start) {
    auto s = l->read(offset(start), 1 << 20, offset(6));
    REQUIRE(s);
    CHECK(s->length == 0);
    CHECK(s->first_offset == offset(start));
  }
  CHECK(l->read(offset(10), 1 << 20, offset(6)).error() == errc::offset_out_of_range);
  CHECK(l->read(offset(10), 1 << 20, offset(100)).error() == errc::offset_out_of_range);
}

TEST_CASE("a bounded read below the log start is out of range") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 1 << 20));
  fill(*l, clock, {3, 3, 3});
  REQUIRE(l->advance_start(offset(4)));
  CHECK(l->read(offset(2), 1 << 20, offset(8)).error() == errc::offset_out_of_range);
  CHECK(l->read(offset(4), 1 << 20, offset(8)));
}

TEST_CASE("a bounded read keeps to max bytes below the limit") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 1 << 20));
  fill(*l, clock, {1, 1, 1, 1, 1, 1});
  auto one = l->read(offset(0), 1, offset(6));
  REQUIRE(one);
  auto batch_bytes = one->length;
  auto s = l->read(offset(0), 2 * batch_bytes + 1, offset(5));
  REQUIRE(s);
  CHECK(s->next_offset == offset(2));
  s = l->read(offset(0), 100 * batch_bytes, offset(5));
  REQUIRE(s);
  CHECK(s->next_offset == offset(5));
}

TEST_CASE("a bounded read with the limit at or past the log end is the unbounded read") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 700));
  std::vector<int> counts;
  for (int i = 0; i < 60; ++i) counts.push_back(1 + i % 4);
  fill(*l, clock, counts);
  const auto end = l->next_offset();
  for (int64_t start = 0; start <= end(); ++start) {
    for (uint64_t max_bytes : {uint64_t{1}, uint64_t{300}, uint64_t{1} << 20}) {
      auto plain = l->read(offset(start), max_bytes);
      for (auto limit : {end, end + 1, offset::max()}) {
        auto bounded = l->read(offset(start), max_bytes, limit);
        REQUIRE(plain);
        REQUIRE(bounded);
        CHECK(bounded->file == plain->file);
        CHECK(bounded->position == plain->position);
        CHECK(bounded->length == plain->length);
        CHECK(bounded->first_offset == plain->first_offset);
        CHECK(bounded->next_offset == plain->next_offset);
      }
    }
  }
}
