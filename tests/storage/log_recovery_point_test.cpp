// Rolls without a sync on the append path (storage/recovery_point.h,
// storage/sync_plan.h): a roll leaves the closed segment to the owner's next
// sync, which raises the recovery point; recovery after an unclean shutdown
// CRC-checks every closed segment past that point, cuts the log at the first
// batch a power loss tore there and quarantines every later segment, and
// keeps trusting the closed segments below it.

#include <catch2/catch.hpp>

#include <cerrno>

#include "storage/fault_injector.h"
#include "storage/log.h"
#include "storage/log_test_util.h"
#include "storage/offset_checkpoint.h"
#include "support/temp_dir.h"

using namespace actormq::storage;
using namespace actormq::storage::test;
using actormq::test::temp_dir;
using kind = recovery_event::kind;

namespace {

/// The value in <dir>/recovery-point, or -1 when there is no such file.
int64_t point_file(const fs::path& dir) {
  auto v = offset_checkpoint(dir / "recovery-point").read();
  REQUIRE(v);
  return *v ? (**v)() : -1;
}

/// (position, header) of every batch in a segment file.
std::vector<std::pair<uint64_t, batch_header>> batches_in(const fs::path& file) {
  std::vector<std::pair<uint64_t, batch_header>> out;
  auto bytes = read_whole(file);
  uint64_t pos = 0;
  for_each_batch(const_span(bytes), [&](const batch_header& h, std::span<const uint8_t> b) {
    out.emplace_back(pos, h);
    pos += b.size();
  });
  return out;
}

/// What a log held when it crashed.
struct before_crash {
  std::vector<rec> want;  ///< every record
  size_t segments = 0;
  offset active{0};  ///< the active segment's base
};

/// A log of small segments with `batches` appended batches, none synced.
struct rolled_log {
  temp_dir dir;
  manual_clock clock;
  log_config cfg = small_config(clock, 600);
  std::unique_ptr<partition_log> l = open_log(dir.path(), cfg);

  explicit rolled_log(int batches) {
    for (int b = 0; b < batches; ++b) {
      REQUIRE(append_copy(*l, numbered_batch("b" + std::to_string(b), 2, clock.now(), 40)));
      clock.advance(10);
    }
    REQUIRE(l->segment_count() >= 4);
  }
  fs::path file(size_t seg) const { return l->segments()[seg]->path(); }
  offset base(size_t seg) const { return l->segments()[seg]->base_offset(); }
  /// Ends the log as a crash would: no sync, no clean-shutdown marker.
  before_crash crash() {
    before_crash b{read_all(*l, offset(0)), l->segment_count(), base(l->segment_count() - 1)};
    l->abandon();
    l.reset();
    return b;
  }
};

/// Flips the last byte of a batch's records: its CRC no longer matches, while
/// its header (length, offsets, counts) still walks.
void tear_body(const fs::path& file, const std::pair<uint64_t, batch_header>& b) {
  uint64_t last = b.first + b.second.size_bytes() - 1;
  auto bytes = read_whole(file);
  overwrite(file, last, std::string(1, static_cast<char>(bytes[last] ^ 0x5a)));
}

}  // namespace

TEST_CASE("a roll leaves the closed segment to the next sync, which raises the recovery point") {
  rolled_log f(12);
  auto& l = *f.l;
  // A new log starts with its recovery point at its base.
  CHECK(point_file(f.dir.path()) == 0);
  CHECK(l.flushed_offset() == offset(0));
  CHECK(l.closed_unsynced());
  auto plan = l.sync_target();
  REQUIRE(plan.files.size() == l.segment_count());
  CHECK(plan.closed == l.segment_count() - 1);
  for (size_t i = 0; i < plan.files.size(); ++i) CHECK(plan.files[i]->path() == f.file(i));
  CHECK(plan.sync_directory);
  CHECK(plan.up_to() == l.next_offset());
  REQUIRE(plan.run());
  l.mark_flushed(plan.ticket());
  CHECK(l.flushed_offset() == l.next_offset());
  CHECK_FALSE(l.closed_unsynced());
  CHECK(point_file(f.dir.path()) == l.next_offset()());
  CHECK(l.recovery_point_offset() == l.next_offset());
  // The next plan has only the active segment, and no directory to sync.
  REQUIRE(append_copy(l, numbered_batch("more", 1, f.clock.now(), 10)));
  auto next = l.sync_target();
  CHECK(next.closed == 0);
  CHECK(next.files.size() == 1);
  CHECK_FALSE(next.sync_directory);
}

TEST_CASE("flush syncs the closed segments too and a failed sync of one stops the log") {
  rolled_log f(12);
  auto st = [&] {
    armed broken{rule(fault_op::sync, EIO, f.file(1))};
    return f.l->flush();
  }();
  REQUIRE_FALSE(st);
  CHECK(st.error() == std::errc::io_error);
  CHECK(st.detail().find(f.file(1).filename().string()) != std::string::npos);
  CHECK(f.l->failed());
  CHECK(f.l->flushed_offset() == offset(0));
  CHECK(point_file(f.dir.path()) == 0);
}

TEST_CASE("a process crash loses nothing from closed segments no sync covered") {
  rolled_log f(12);
  auto [want, segments, active] = f.crash();
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  CHECK_FALSE(report.clean_shutdown);
  CHECK(report.recovery_point == offset(0));
  // Every closed segment past the point was read whole, with its CRCs.
  CHECK(report.crc_checked_segments == segments);
  CHECK(report.events.empty());
  CHECK(read_all(*l, offset(0)) == want);
  // Checked and synced now: the point covers them.
  CHECK(point_file(f.dir.path()) == active());
  check_appends_continue_at(*l, want.back().off + 1);
}

TEST_CASE(
    "a closed segment torn past the recovery point cuts the log there and quarantines "
    "every later segment") {
  rolled_log f(12);
  const size_t segments = f.l->segment_count();
  auto in1 = batches_in(f.file(1));
  REQUIRE(in1.size() >= 2);
  const offset cut = in1[1].second.base_offset;
  std::vector<fs::path> later;
  for (size_t i = 2; i < segments; ++i) later.push_back(f.file(i));
  const fs::path seg1 = f.file(1);
  const offset seg2_base = f.base(2);
  auto want = f.crash().want;
  // A power loss left a hole in the second batch of segment 1.
  tear_body(seg1, in1[1]);

  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  REQUIRE(count_events(report, kind::truncated_tail) == 1);
  const auto* t = find_event(report, kind::truncated_tail);
  CHECK(t->file == seg1);
  CHECK(t->first_dropped == cut);
  CHECK(count_events(report, kind::quarantined_segment) == later.size());
  auto q = f.dir.path() / "quarantine";
  for (const auto& p : later) {
    CHECK_FALSE(fs::exists(p));
    CHECK(fs::exists(q / p.filename()));
  }
  const auto* first_q = find_event(report, kind::quarantined_segment);
  CHECK(first_q->first_dropped == seg2_base);
  CHECK(l->segment_count() == 2);
  CHECK(l->next_offset() == cut);
  std::vector<rec> kept;
  for (const auto& r : want) {
    if (r.off < cut) kept.push_back(r);
  }
  CHECK(read_all(*l, offset(0)) == kept);
  check_appends_continue_at(*l, cut);
}

TEST_CASE(
    "closed segments at or below the recovery point are trusted after an unclean "
    "shutdown") {
  rolled_log f(12);
  REQUIRE(f.l->flush());
  const offset synced = f.l->next_offset();
  CHECK(point_file(f.dir.path()) == synced());
  // More batches, rolled past the point and never synced.
  for (int b = 0; b < 8; ++b) {
    REQUIRE(append_copy(*f.l, numbered_batch("late" + std::to_string(b), 2, f.clock.now(), 40)));
  }
  size_t below = 0, above = 0;
  for (size_t i = 0; i + 1 < f.l->segment_count(); ++i) {
    (f.l->segments()[i]->next_offset() <= synced ? below : above)++;
  }
  REQUIRE(below >= 2);
  REQUIRE(above >= 1);
  auto want = f.crash().want;
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  CHECK(report.recovery_point == synced);
  // Header walks below the point; the closed ones above and the tail in full.
  CHECK(report.crc_checked_segments == above + 1);
  CHECK(report.events.empty());
  CHECK(read_all(*l, offset(0)) == want);
}

TEST_CASE("a sync planned before a truncate vouches for nothing the truncate freed") {
  rolled_log f(12);
  auto plan = f.l->sync_target();
  const offset keep = f.base(2);
  REQUIRE(f.l->truncate(keep));
  CHECK(point_file(f.dir.path()) <= keep());
  CHECK(f.l->flushed_offset() == keep);
  // New batches take the freed offsets, then the old sync finishes.
  for (int b = 0; f.l->next_offset() <= plan.up_to(); ++b) {
    REQUIRE(b < 100);
    REQUIRE(append_copy(*f.l, numbered_batch("new" + std::to_string(b), 2, f.clock.now(), 40)));
  }
  REQUIRE(plan.run());
  f.l->mark_flushed(plan.ticket());
  CHECK(f.l->flushed_offset() == keep);
  CHECK(point_file(f.dir.path()) <= keep());
  CHECK(f.l->closed_unsynced());
}

TEST_CASE("a log from before the recovery point trusts its closed segments and gets the file") {
  rolled_log f(12);
  REQUIRE(f.l->flush());
  auto [want, segments, active] = f.crash();
  fs::remove(f.dir.path() / "recovery-point");
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  CHECK(report.recovery_point == offset(-1));
  CHECK(report.crc_checked_segments == 1);
  CHECK(report.events.empty());
  CHECK(read_all(*l, offset(0)) == want);
  CHECK(point_file(f.dir.path()) == active());
}

TEST_CASE("an unreadable recovery point makes recovery check every closed segment") {
  rolled_log f(12);
  REQUIRE(f.l->flush());
  auto [want, segments, active] = f.crash();
  write_whole(f.dir.path() / "recovery-point", "garbage");
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  CHECK(report.crc_checked_segments == segments);
  CHECK(report.events.empty());
  CHECK(read_all(*l, offset(0)) == want);
  CHECK(point_file(f.dir.path()) == active());
}

TEST_CASE("a clean close syncs every closed segment and the reopen trusts them") {
  rolled_log f(12);
  auto want = read_all(*f.l, offset(0));
  REQUIRE(f.l->close());
  CHECK(point_file(f.dir.path()) == (want.back().off + 1)());
  f.l.reset();
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  CHECK(report.clean_shutdown);
  CHECK(report.crc_checked_segments == 1);
  CHECK(read_all(*l, offset(0)) == want);
}

TEST_CASE("a roll syncs nothing: appends that roll go through while every fdatasync fails") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 600));
  {
    armed broken{rule(fault_op::sync, EIO, dir.path(), 0)};
    for (int b = 0; b < 12; ++b) {
      REQUIRE(append_copy(*l, numbered_batch("b" + std::to_string(b), 2, clock.now(), 40)));
    }
    REQUIRE(l->segment_count() >= 4);
    CHECK(l->closed_unsynced());
    // The first sync is where the failure shows: the log stops its writes.
    auto st = l->flush();
    REQUIRE_FALSE(st);
    CHECK(st.error() == std::errc::io_error);
    CHECK(l->failed());
  }
  CHECK(l->flushed_offset() == offset(0));
}

TEST_CASE(
    "a full disk when the recovery point is written leaves the sync done and the point "
    "low") {
  rolled_log f(12);
  {
    armed full{rule(fault_op::write, ENOSPC, "recovery-point", 0)};
    REQUIRE(f.l->flush());  // the data is synced: only the point's file failed
  }
  CHECK(f.l->flushed_offset() == f.l->next_offset());
  CHECK_FALSE(f.l->closed_unsynced());
  CHECK(point_file(f.dir.path()) == 0);
  auto before = f.crash();
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  // A low point costs reading more, never losing anything; the only event is
  // the failed write's temporary file, removed.
  CHECK(report.crc_checked_segments == before.segments);
  CHECK(report.dropped_bytes() == 0);
  CHECK(count_events(report, kind::removed_stray_file) == 1);
  CHECK(report.events.size() == 1);
  CHECK(read_all(*l, offset(0)) == before.want);
}

TEST_CASE("a truncate whose recovery point cannot be lowered (disk full) changes nothing") {
  rolled_log f(12);
  REQUIRE(f.l->flush());
  auto want = read_all(*f.l, offset(0));
  const offset end = f.l->next_offset();
  const size_t segments = f.l->segment_count();
  const offset keep = f.base(2);
  {
    armed full{rule(fault_op::write, ENOSPC, "recovery-point", 0)};
    auto st = f.l->truncate(keep);
    REQUIRE_FALSE(st);
    CHECK(st.error() == errc::disk_full);
  }
  CHECK(f.l->next_offset() == end);
  CHECK(f.l->segment_count() == segments);
  CHECK(read_all(*f.l, offset(0)) == want);
  CHECK(point_file(f.dir.path()) == end());
  // Once there is room again the truncate goes through.
  REQUIRE(f.l->truncate(keep));
  CHECK(f.l->next_offset() == keep);
  CHECK(point_file(f.dir.path()) == keep());
}
