// truncate(o) semantics and the flush policy.

#include <catch2/catch.hpp>

#include "storage/log.h"
#include "storage/log_test_util.h"
#include "support/temp_dir.h"

using namespace actormq::storage;
using namespace actormq::storage::test;
using actormq::test::temp_dir;

namespace {

/// Batches of 3, 2, 1, 3, 2, 1 ... records; returns every record.
std::vector<rec> fill(partition_log& l, const manual_clock& clock, int batches) {
  for (int b = 0; b < batches; ++b) {
    REQUIRE(append_copy(l, numbered_batch("t" + std::to_string(b), 3 - b % 3, clock.now(), 40)));
  }
  return read_all(l, offset(0));
}

std::vector<rec> below(const std::vector<rec>& rs, offset o) {
  std::vector<rec> out;
  for (const auto& r : rs) {
    if (r.off < o) out.push_back(r);
  }
  return out;
}

}  // namespace

TEST_CASE("truncate inside a batch removes that whole batch") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 1 << 20));
  auto all = fill(*l, clock, 3);  // [0,3) [3,5) [5,6)
  REQUIRE(l->truncate(offset(4)));
  CHECK(l->next_offset() == offset(3));
  CHECK(read_all(*l, offset(0)) == below(all, offset(3)));
  CHECK(l->read(offset(4), 100).error() == errc::offset_out_of_range);
  auto at_end = l->read(offset(3), 100);
  REQUIRE(at_end);
  CHECK(at_end->length == 0);
  auto r = append_copy(*l, numbered_batch("new", 2, clock.now()));
  REQUIRE(r);
  CHECK(r->base_offset == offset(3));
  auto got = read_all(*l, offset(3));
  REQUIRE(got.size() == 2);
  CHECK(got[0].key == "new-k0");
}

TEST_CASE("truncate at a batch boundary keeps the batch before it") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 1 << 20));
  auto all = fill(*l, clock, 3);
  auto size_before = l->size_bytes();
  REQUIRE(l->truncate(offset(5)));
  CHECK(l->next_offset() == offset(5));
  CHECK(read_all(*l, offset(0)) == below(all, offset(5)));
  CHECK(fs::file_size(l->segments().back()->path()) == l->size_bytes());
  CHECK(l->size_bytes() < size_before);
}

TEST_CASE("truncate at or past the end changes nothing") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 1 << 20));
  auto all = fill(*l, clock, 3);
  REQUIRE(l->truncate(offset(6)));
  REQUIRE(l->truncate(offset(100)));
  CHECK(l->next_offset() == offset(6));
  CHECK(read_all(*l, offset(0)) == all);
}

TEST_CASE("truncate across segments deletes later segments and cuts the one holding the offset") {
  temp_dir dir;
  manual_clock clock;
  auto cfg = small_config(clock, 400);
  cfg.index_interval_bytes = 64;
  std::vector<rec> kept;
  offset cut(0);
  {
    auto l = open_log(dir.path(), cfg);
    auto all = fill(*l, clock, 30);
    REQUIRE(l->segment_count() >= 5);
    // An offset in the middle of the second segment.
    const auto& s1 = *l->segments()[1];
    cut = s1.base_offset() + (s1.next_offset()() - s1.base_offset()()) / 2;
    std::vector<offset> later;
    for (size_t i = 2; i < l->segment_count(); ++i)
      later.push_back(l->segments()[i]->base_offset());
    REQUIRE(l->truncate(cut));
    CHECK(l->segment_count() == 2);
    for (auto b : later) {
      CHECK_FALSE(fs::exists(seg_path(dir.path(), b, "log")));
      CHECK_FALSE(fs::exists(seg_path(dir.path(), b, "index")));
      CHECK_FALSE(fs::exists(seg_path(dir.path(), b, "timeindex")));
    }
    CHECK(l->next_offset() <= cut);
    CHECK(l->next_offset() > l->segments()[1]->base_offset());
    kept = below(all, l->next_offset());
    CHECK(read_all(*l, offset(0)) == kept);
    CHECK(read_all(*l, offset(0), 1) == kept);
    // The cut segment's index no longer names positions past its end.
    for (const auto& e : l->segments()[1]->index().entries()) {
      CHECK(e.pos() < l->segments()[1]->size_bytes());
    }
    // Appends continue at the new end and roll as usual.
    auto r = append_copy(*l, numbered_batch("again", 1, clock.now(), 40));
    REQUIRE(r);
    CHECK(r->base_offset == kept.back().off + 1);
    kept.push_back(read_all(*l, r->base_offset).at(0));
    REQUIRE(l->close());
  }
  recovery_report report;
  auto l = open_log(dir.path(), cfg, &report);
  CHECK(report.events.empty());
  CHECK(read_all(*l, offset(0), 1) == kept);
}

TEST_CASE("truncate to the log start empties the log and keeps its base") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 300));
  fill(*l, clock, 10);
  REQUIRE(l->segment_count() > 2);
  REQUIRE(l->truncate(offset(0)));
  CHECK(l->segment_count() == 1);
  CHECK(l->next_offset() == offset(0));
  CHECK(l->log_start_offset() == offset(0));
  CHECK(l->size_bytes() == 0);
  CHECK(fs::file_size(seg_path(dir.path(), offset(0), "log")) == 0);
  CHECK(fs::file_size(seg_path(dir.path(), offset(0), "index")) == 0);
  auto r = append_copy(*l, numbered_batch("z", 1, clock.now()));
  REQUIRE(r);
  CHECK(r->base_offset == offset(0));
}

TEST_CASE("truncate below the log start leaves an empty log at the log start") {
  temp_dir dir;
  manual_clock clock;
  auto cfg = small_config(clock, 300);
  cfg.retention_bytes = 600;
  auto l = open_log(dir.path(), cfg);
  fill(*l, clock, 12);
  REQUIRE(*l->apply_retention() > 0);
  auto start = l->log_start_offset();
  REQUIRE(start > offset(0));
  REQUIRE(l->truncate(offset(0)));
  CHECK(l->segment_count() == 1);
  CHECK(l->log_start_offset() == start);
  CHECK(l->next_offset() == start);
  CHECK(l->read(offset(0), 10).error() == errc::offset_out_of_range);
}

TEST_CASE("a truncate survives an unclean reopen") {
  temp_dir dir;
  manual_clock clock;
  auto cfg = small_config(clock, 400);
  std::vector<rec> kept;
  {
    auto l = open_log(dir.path(), cfg);
    auto all = fill(*l, clock, 20);
    REQUIRE(l->truncate(offset(17)));
    kept = below(all, l->next_offset());
  }
  forget_clean_shutdown(dir.path());
  recovery_report report;
  auto l = open_log(dir.path(), cfg, &report);
  CHECK(report.events.empty());
  CHECK(read_all(*l, offset(0)) == kept);
}

TEST_CASE("the every append flush policy syncs each append") {
  temp_dir dir;
  manual_clock clock;
  auto cfg = small_config(clock);
  cfg.flush = flush_policy::every_append();
  auto l = open_log(dir.path(), cfg);
  for (int i = 0; i < 5; ++i) {
    auto r = append_copy(*l, numbered_batch("f", 2, clock.now()));
    REQUIRE(r);
    CHECK(r->flushed);
    CHECK(l->flushed_offset() == r->last_offset + 1);
    CHECK(l->unflushed_messages() == 0);
  }
}

TEST_CASE("the every n messages flush policy syncs once n messages are unflushed") {
  temp_dir dir;
  manual_clock clock;
  auto cfg = small_config(clock);
  cfg.flush = {5, 0};
  auto l = open_log(dir.path(), cfg);
  std::vector<bool> flushed;
  std::vector<int64_t> flushed_at;
  for (int i = 0; i < 6; ++i) {
    auto r = append_copy(*l, numbered_batch("f", 2, clock.now()));
    REQUIRE(r);
    flushed.push_back(r->flushed);
    flushed_at.push_back(l->flushed_offset()());
  }
  // 2, 4, 6 (flush), 2, 4, 6 (flush) unflushed messages.
  CHECK(flushed == std::vector<bool>{false, false, true, false, false, true});
  CHECK(flushed_at == std::vector<int64_t>{0, 0, 6, 6, 6, 12});
  CHECK(l->unflushed_messages() == 0);
  REQUIRE(append_copy(*l, numbered_batch("f", 1, clock.now())));
  CHECK(l->unflushed_messages() == 1);
}

TEST_CASE("the every t ms flush policy syncs from maybe flush once the oldest append is t old") {
  temp_dir dir;
  manual_clock clock;
  auto cfg = small_config(clock);
  cfg.flush = {0, 100};
  auto l = open_log(dir.path(), cfg);
  auto r = append_copy(*l, numbered_batch("f", 2, clock.now()));
  REQUIRE(r);
  CHECK_FALSE(r->flushed);
  clock.advance(60);
  r = append_copy(*l, numbered_batch("g", 1, clock.now()));
  REQUIRE(r);
  CHECK_FALSE(r->flushed);
  REQUIRE(l->maybe_flush());
  CHECK(l->flushed_offset() == offset(0));
  clock.advance(39);
  REQUIRE(l->maybe_flush());
  CHECK(l->flushed_offset() == offset(0));
  CHECK(l->unflushed_messages() == 3);
  clock.advance(1);  // the first append is now 100 ms old
  REQUIRE(l->maybe_flush());
  CHECK(l->flushed_offset() == offset(3));
  CHECK(l->unflushed_messages() == 0);
  // The clock starts again with the next append.
  clock.advance(1000);
  REQUIRE(l->maybe_flush());
  r = append_copy(*l, numbered_batch("h", 1, clock.now()));
  REQUIRE(r);
  CHECK_FALSE(r->flushed);
  clock.advance(100);
  // An append that finds the rule due flushes by itself.
  r = append_copy(*l, numbered_batch("i", 1, clock.now()));
  REQUIRE(r);
  CHECK(r->flushed);
  CHECK(l->flushed_offset() == offset(5));
}

TEST_CASE("the never flush policy leaves syncing to explicit flush calls") {
  temp_dir dir;
  manual_clock clock;
  auto cfg = small_config(clock);
  cfg.flush = flush_policy::never();
  auto l = open_log(dir.path(), cfg);
  for (int i = 0; i < 4; ++i) {
    auto r = append_copy(*l, numbered_batch("n", 2, clock.now()));
    REQUIRE(r);
    CHECK_FALSE(r->flushed);
    clock.advance(10'000);
  }
  REQUIRE(l->maybe_flush());
  CHECK(l->flushed_offset() == offset(0));
  CHECK(l->unflushed_messages() == 8);
  REQUIRE(l->flush());
  CHECK(l->flushed_offset() == offset(8));
  CHECK(l->unflushed_messages() == 0);
}

TEST_CASE("truncate leaves everything flushed and restarts the flush clock") {
  temp_dir dir;
  manual_clock clock;
  auto cfg = small_config(clock);
  cfg.flush = {0, 1000};
  auto l = open_log(dir.path(), cfg);
  REQUIRE(append_copy(*l, numbered_batch("a", 2, clock.now())));
  REQUIRE(append_copy(*l, numbered_batch("b", 2, clock.now())));
  clock.advance(500);
  REQUIRE(l->truncate(offset(2)));
  CHECK(l->next_offset() == offset(2));
  CHECK(l->flushed_offset() == offset(2));
  CHECK(l->unflushed_messages() == 0);
  clock.advance(600);  // 1100 ms after the first append, 600 after the truncate
  auto r = append_copy(*l, numbered_batch("c", 1, clock.now()));
  REQUIRE(r);
  CHECK_FALSE(r->flushed);
  CHECK(l->flushed_offset() == offset(2));
}

TEST_CASE(
    "truncate right after a roll removes the empty active segment and keeps both indexes "
    "consistent") {
  temp_dir dir;
  manual_clock clock;
  auto cfg = small_config(clock, 400);
  cfg.index_interval_bytes = 64;
  std::vector<rec> kept;
  {
    auto l = open_log(dir.path(), cfg);
    for (int b = 0; b < 20; ++b) {
      REQUIRE(append_copy(*l, numbered_batch("t" + std::to_string(b), 1 + b % 3, clock.now(), 40)));
      clock.advance(10);  // every batch raises the greatest timestamp
    }
    REQUIRE(l->roll());
    REQUIRE(l->segments().back()->empty());
    const auto empty_base = l->segments().back()->base_offset();
    const auto& prev = *l->segments()[l->segment_count() - 2];
    const auto cut = prev.base_offset() + (prev.next_offset()() - prev.base_offset()()) / 2;
    const auto segments_before = l->segment_count();
    REQUIRE(l->truncate(cut));
    CHECK(l->segment_count() == segments_before - 1);
    CHECK_FALSE(fs::exists(seg_path(dir.path(), empty_base, "log")));
    CHECK_FALSE(fs::exists(seg_path(dir.path(), empty_base, "index")));
    CHECK_FALSE(fs::exists(seg_path(dir.path(), empty_base, "timeindex")));
    const auto& active = *l->segments().back();
    CHECK(active.next_offset() <= cut);
    // Neither index names a batch that is gone.
    for (const auto& e : active.index().entries()) {
      CHECK(e.pos() < active.size_bytes());
      CHECK(active.base_offset() + int64_t{e.rel()} < active.next_offset());
    }
    for (const auto& e : active.timeindex().entries()) {
      CHECK(active.base_offset() + int64_t{e.rel()} < active.next_offset());
    }
    REQUIRE_FALSE(active.timeindex().entries().empty());
    CHECK(active.max_timestamp() == active.timeindex().entries().back().ts);
    // A timestamp past every kept record finds the log end.
    auto o = l->offset_for_timestamp(active.max_timestamp() + 1);
    REQUIRE(o);
    CHECK(*o == l->next_offset());
    kept = read_all(*l, offset(0));
    CHECK(kept.back().off + 1 == l->next_offset());
    // Offsets found by timestamp still name the batch holding them.
    for (const auto& r : kept) {
      auto at = l->offset_for_timestamp(r.ts);
      REQUIRE(at);
      CHECK(*at <= r.off);
    }
    REQUIRE(l->close());
  }
  // The index files written by truncate pass the clean-shutdown checks.
  recovery_report report;
  auto l = open_log(dir.path(), cfg, &report);
  CHECK(report.events.empty());
  CHECK(read_all(*l, offset(0)) == kept);
}

TEST_CASE("truncate_fully_and_start_at restarts an empty log at the given offset") {
  temp_dir dir;
  manual_clock clock;
  {
    auto l = open_log(dir.path(), small_config(clock, 256));
    fill(*l, clock, 6);  // several segments
    REQUIRE(l->segment_count() > 1);
    REQUIRE(l->truncate_fully_and_start_at(offset(100)));
    CHECK(l->segment_count() == 1);
    CHECK(l->log_start_offset() == offset(100));
    CHECK(l->next_offset() == offset(100));
    CHECK(read_all(*l, offset(100)).empty());
    CHECK(l->read(offset(50), 1 << 20).error() == errc::offset_out_of_range);
    // The next batch lands at 100, and all of it survives a reopen.
    REQUIRE(append_copy(*l, numbered_batch("n", 2, clock.now(), 40)));
    CHECK(l->next_offset() == offset(102));
    REQUIRE(l->close());
  }
  auto l = open_log(dir.path(), small_config(clock, 256));
  CHECK(l->log_start_offset() == offset(100));
  CHECK(l->next_offset() == offset(102));
  auto rs = read_all(*l, offset(100));
  REQUIRE(rs.size() == 2);
  CHECK(rs[0].off == offset(100));
}

TEST_CASE("truncate_fully_and_start_at may also move the start below the old end") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 1 << 20));
  fill(*l, clock, 3);  // [0, 6)
  REQUIRE(l->truncate_fully_and_start_at(offset(2)));
  CHECK(l->log_start_offset() == offset(2));
  CHECK(l->next_offset() == offset(2));
  CHECK(read_all(*l, offset(2)).empty());
}

TEST_CASE("an abandoned log writes nothing more: no clean-shutdown marker, no index") {
  // A deleted topic's partitions abandon their logs (the directory was
  // moved away and goes next).
  temp_dir dir;
  manual_clock clock;
  auto cfg = small_config(clock);
  {
    auto l = open_log(dir.path(), cfg);
    REQUIRE(append_copy(*l, numbered_batch("a", 3, clock.now())));
    for (const auto& e : fs::directory_iterator(dir.path())) fs::remove(e.path());
    l->abandon();
    CHECK(l->close().error() == errc::log_closed);
  }  // nor when destroyed
  CHECK(fs::is_empty(dir.path()));
}
