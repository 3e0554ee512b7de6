// Recovery on open: torn and corrupt tails, missing and bad indexes,
// quarantine of corrupt older segments. Each case checks what was dropped,
// what the report says, and that every acknowledged record still reads.

#include <catch2/catch.hpp>

#include "storage/log.h"
#include "storage/log_test_util.h"
#include "support/temp_dir.h"

using namespace actormq::storage;
using namespace actormq::storage::test;
using actormq::test::temp_dir;
using kind = recovery_event::kind;

namespace {

struct seg_info {
  offset base, next;
  uint64_t size;
  std::vector<std::pair<uint64_t, batch_header>> batches;  // position, header
};

/// A closed log with `batches` batches of 1..3 records and what it holds.
struct fixture {
  temp_dir dir;
  manual_clock clock;
  log_config cfg;
  std::vector<rec> want;
  std::vector<seg_info> segs;

  explicit fixture(int batches, uint64_t segment_bytes = 1 << 20)
      : cfg(small_config(clock, segment_bytes)) {
    cfg.index_interval_bytes = 64;
    auto l = open_log(dir.path(), cfg);
    for (int b = 0; b < batches; ++b) {
      auto r = append_copy(*l, numbered_batch("b" + std::to_string(b), 1 + b % 3, clock.now(), 30));
      REQUIRE(r);
      clock.advance(10);
    }
    want = read_all(*l, offset(0));
    for (const auto& s : l->segments()) {
      seg_info si{s->base_offset(), s->next_offset(), s->size_bytes(), {}};
      auto bytes = read_whole(s->path());
      uint64_t pos = 0;
      for_each_batch(const_span(bytes), [&](const batch_header& h, std::span<const uint8_t> b) {
        si.batches.emplace_back(pos, h);
        pos += b.size();
      });
      segs.push_back(std::move(si));
    }
    REQUIRE(l->close());
  }

  fs::path log_file(size_t seg) const { return seg_path(dir.path(), segs[seg].base, "log"); }
  fs::path index_file(size_t seg) const { return seg_path(dir.path(), segs[seg].base, "index"); }
  fs::path time_file(size_t seg) const { return seg_path(dir.path(), segs[seg].base, "timeindex"); }
  offset next() const { return segs.back().next; }

  std::vector<rec> want_below(offset o) const {
    std::vector<rec> out;
    for (const auto& r : want) {
      if (r.off < o) out.push_back(r);
    }
    return out;
  }
};

/// The bytes of a valid batch that would follow the log (base offset set).
std::string next_batch(const fixture& f, int records) {
  auto b = numbered_batch("torn", records, f.clock.now(), 30);
  set_base_offset(mut_span(b), f.next());
  return b;
}

}  // namespace

TEST_CASE("a torn batch header at the tail is cut on reopen and reported") {
  fixture f(6);
  forget_clean_shutdown(f.dir.path());
  append_raw(f.log_file(0), next_batch(f, 2).substr(0, 30));
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  CHECK_FALSE(report.clean_shutdown);
  REQUIRE(report.events.size() == 1);
  const auto& e = report.events[0];
  CHECK(e.what == kind::truncated_tail);
  CHECK(e.file == f.log_file(0));
  CHECK(e.dropped_bytes == 30);
  CHECK(e.first_dropped == f.next());
  CHECK(report.dropped_bytes() == 30);
  CHECK(fs::file_size(f.log_file(0)) == f.segs[0].size);
  CHECK(l->next_offset() == f.next());
  CHECK(read_all(*l, offset(0)) == f.want);
  check_appends_continue_at(*l, f.next());
}

TEST_CASE("a torn batch payload at the tail is cut on reopen and reported") {
  fixture f(6);
  forget_clean_shutdown(f.dir.path());
  auto torn = next_batch(f, 3);
  append_raw(f.log_file(0), torn.substr(0, torn.size() - 7));
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  REQUIRE(report.events.size() == 1);
  const auto& e = report.events[0];
  CHECK(e.what == kind::truncated_tail);
  CHECK(e.dropped_bytes == torn.size() - 7);
  CHECK(e.first_dropped == f.next());
  CHECK(e.dropped_until == f.next() + 3);  // the torn batch's header was readable
  CHECK(fs::file_size(f.log_file(0)) == f.segs[0].size);
  CHECK(read_all(*l, offset(0)) == f.want);
  check_appends_continue_at(*l, f.next());
}

TEST_CASE("a torn tail is cut even after a clean shutdown marker") {
  fixture f(4);
  append_raw(f.log_file(0), "partial");
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  CHECK(report.clean_shutdown);
  REQUIRE(count_events(report, kind::truncated_tail) == 1);
  CHECK(report.dropped_bytes() == 7);
  CHECK(read_all(*l, offset(0)) == f.want);
}

TEST_CASE("a crc mismatch in a tail batch cuts the log from that batch on") {
  fixture f(8);
  forget_clean_shutdown(f.dir.path());
  const auto& batches = f.segs[0].batches;
  REQUIRE(batches.size() == 8);
  auto [pos, h] = batches[5];
  // Flip a byte in the records of batch 5; batches 6 and 7 are intact.
  auto data = read_whole(f.log_file(0));
  data[pos + h.size_bytes() - 3] ^= 0x40;
  write_whole(f.log_file(0), data);
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  REQUIRE(report.events.size() == 1);
  const auto& e = report.events[0];
  CHECK(e.what == kind::truncated_tail);
  CHECK(e.dropped_bytes == f.segs[0].size - pos);
  CHECK(e.first_dropped == h.base_offset);
  CHECK(e.dropped_until == f.next());
  CHECK_THAT(e.detail, Catch::Contains("CRC"));
  CHECK(fs::file_size(f.log_file(0)) == pos);
  CHECK(l->next_offset() == h.base_offset);
  CHECK(read_all(*l, offset(0)) == f.want_below(h.base_offset));
  CHECK(l->read(h.base_offset + 1, 100).error() == errc::offset_out_of_range);
  check_appends_continue_at(*l, h.base_offset);
}

TEST_CASE("a too small length field in the tail batch cuts the log at that batch") {
  fixture f(5);
  forget_clean_shutdown(f.dir.path());
  auto [pos, h] = f.segs[0].batches.back();
  std::string len(4, '\0');
  store_le<int32_t>(reinterpret_cast<uint8_t*>(len.data()), 3);
  overwrite(f.log_file(0), pos + batch_layout::batch_length, len);
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  REQUIRE(report.events.size() == 1);
  CHECK(report.events[0].what == kind::truncated_tail);
  CHECK(report.events[0].dropped_bytes == h.size_bytes());
  CHECK(report.events[0].first_dropped == h.base_offset);
  CHECK(l->next_offset() == h.base_offset);
  CHECK(read_all(*l, offset(0)) == f.want_below(h.base_offset));
}

TEST_CASE("a length field pointing past the end of the tail cuts the log at that batch") {
  fixture f(5);
  forget_clean_shutdown(f.dir.path());
  auto [pos, h] = f.segs[0].batches[3];
  std::string len(4, '\0');
  store_le<int32_t>(reinterpret_cast<uint8_t*>(len.data()), 0x7fff0000);
  overwrite(f.log_file(0), pos + batch_layout::batch_length, len);
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  REQUIRE(report.events.size() == 1);
  CHECK(report.events[0].dropped_bytes == f.segs[0].size - pos);
  CHECK(report.events[0].first_dropped == h.base_offset);
  CHECK(l->next_offset() == h.base_offset);
  CHECK(read_all(*l, offset(0)) == f.want_below(h.base_offset));
}

TEST_CASE("a length field that disagrees with the records in the tail is cut by the crc") {
  fixture f(5);
  forget_clean_shutdown(f.dir.path());
  auto [pos, h] = f.segs[0].batches[2];
  std::string len(4, '\0');
  store_le<int32_t>(reinterpret_cast<uint8_t*>(len.data()), h.batch_length - 4);
  overwrite(f.log_file(0), pos + batch_layout::batch_length, len);
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  REQUIRE(report.events.size() == 1);
  CHECK(report.events[0].dropped_bytes == f.segs[0].size - pos);
  CHECK(l->next_offset() == h.base_offset);
  CHECK(read_all(*l, offset(0)) == f.want_below(h.base_offset));
}

TEST_CASE("a corrupt base offset in the tail is cut although the crc does not cover it") {
  fixture f(5);
  forget_clean_shutdown(f.dir.path());
  auto [pos, h] = f.segs[0].batches[3];
  std::string base(8, '\0');
  store_le<int64_t>(reinterpret_cast<uint8_t*>(base.data()), h.base_offset() + 1000);
  overwrite(f.log_file(0), pos, base);
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  REQUIRE(report.events.size() == 1);
  CHECK(report.events[0].what == kind::truncated_tail);
  CHECK(report.events[0].dropped_bytes == f.segs[0].size - pos);
  CHECK(report.events[0].first_dropped == h.base_offset);
  CHECK(l->next_offset() == h.base_offset);
  CHECK(read_all(*l, offset(0)) == f.want_below(h.base_offset));
}

TEST_CASE("a tail segment torn to nothing recovers as an empty segment at its base") {
  fixture f(12, 400);
  REQUIRE(f.segs.size() >= 3);
  forget_clean_shutdown(f.dir.path());
  cut_file(f.log_file(f.segs.size() - 1), 0);
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  CHECK(report.events.empty());
  CHECK(l->segment_count() == f.segs.size());
  auto tail_base = f.segs.back().base;
  CHECK(l->next_offset() == tail_base);
  CHECK(read_all(*l, offset(0)) == f.want_below(tail_base));
  check_appends_continue_at(*l, tail_base);
}

TEST_CASE("an empty tail segment left by a roll before a crash is kept") {
  temp_dir dir;
  manual_clock clock;
  auto cfg = small_config(clock);
  std::vector<rec> want;
  {
    auto l = open_log(dir.path(), cfg);
    REQUIRE(append_copy(*l, numbered_batch("a", 3, clock.now())));
    REQUIRE(l->roll());
    want = read_all(*l, offset(0));
  }
  forget_clean_shutdown(dir.path());
  recovery_report report;
  auto l = open_log(dir.path(), cfg, &report);
  CHECK_FALSE(report.clean_shutdown);
  CHECK(report.events.empty());
  REQUIRE(l->segment_count() == 2);
  CHECK(l->segments().back()->base_offset() == offset(3));
  CHECK(l->segments().back()->empty());
  CHECK(l->next_offset() == offset(3));
  CHECK(read_all(*l, offset(0)) == want);
  check_appends_continue_at(*l, offset(3));
  CHECK(l->segment_count() == 2);
}

TEST_CASE("a missing index of an older segment is rebuilt after a clean close") {
  fixture f(30, 500);
  REQUIRE(f.segs.size() >= 3);
  auto old_index = read_whole(f.index_file(0));
  REQUIRE(old_index.size() >= 2 * offset_index::entry_size);
  fs::remove(f.index_file(0));
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  CHECK(report.clean_shutdown);
  REQUIRE(report.events.size() == 1);
  CHECK(report.events[0].what == kind::rebuilt_index);
  CHECK(report.events[0].file == f.index_file(0));
  CHECK(report.events[0].dropped_bytes == 0);
  CHECK(read_whole(f.index_file(0)) == old_index);
  CHECK(l->segments()[0]->index().entries().size() == old_index.size() / 8);
  CHECK(l->segments()[0]->next_offset() == f.segs[0].next);
  CHECK(read_all(*l, offset(0)) == f.want);
  CHECK(read_all(*l, offset(0), 1) == f.want);
}

TEST_CASE("a missing time index of an older segment is rebuilt after a clean close") {
  fixture f(30, 500);
  auto old = read_whole(f.time_file(1));
  fs::remove(f.time_file(1));
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  REQUIRE(count_events(report, kind::rebuilt_index) == 1);
  CHECK(read_whole(f.time_file(1)) == old);
  auto ts_of = f.segs[1].batches[1].second.max_timestamp;
  auto o = l->offset_for_timestamp(ts_of);
  REQUIRE(o);
  CHECK(*o == f.segs[1].batches[1].second.base_offset);
}

TEST_CASE("a garbage index of an older segment is rebuilt after a clean close") {
  fixture f(30, 500);
  auto old_index = read_whole(f.index_file(0));
  write_whole(f.index_file(0), "garbage index bytes that are not entries");
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  REQUIRE(count_events(report, kind::rebuilt_index) == 1);
  CHECK(read_whole(f.index_file(0)) == old_index);
  CHECK(read_all(*l, offset(0), 1) == f.want);
}

TEST_CASE("an index whose offsets do not match the batches is rebuilt after a clean close") {
  fixture f(30, 500);
  auto old_index = read_whole(f.index_file(1));
  REQUIRE(old_index.size() >= 2 * offset_index::entry_size);
  // The last entry names a later offset at a real batch position, as an index
  // of another segment with the same batch sizes would.
  auto bad = old_index;
  auto* p = reinterpret_cast<uint8_t*>(bad.data()) + bad.size() - 8;
  store_le<uint32_t>(p, load_le<uint32_t>(p) + 1);
  write_whole(f.index_file(1), bad);
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  REQUIRE(count_events(report, kind::rebuilt_index) == 1);
  CHECK(find_event(report, kind::rebuilt_index)->file == f.index_file(1));
  CHECK(read_whole(f.index_file(1)) == old_index);
  CHECK(read_all(*l, offset(0), 1) == f.want);
}

TEST_CASE("an index entry pointing inside a batch is rebuilt after a clean close") {
  fixture f(30, 500);
  auto old_index = read_whole(f.index_file(0));
  REQUIRE(old_index.size() >= 2 * offset_index::entry_size);
  // Move the last entry's position by one byte: ordered, in range, but wrong.
  auto bad = old_index;
  auto* p = reinterpret_cast<uint8_t*>(bad.data()) + bad.size() - 4;
  store_le<uint32_t>(p, load_le<uint32_t>(p) + 1);
  write_whole(f.index_file(0), bad);
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  REQUIRE(count_events(report, kind::rebuilt_index) == 1);
  CHECK(read_whole(f.index_file(0)) == old_index);
  CHECK(read_all(*l, offset(0), 1) == f.want);
}

TEST_CASE("a time index entry that does not match its batch is rebuilt after a clean close") {
  fixture f(30, 500);
  auto old = read_whole(f.time_file(0));
  REQUIRE(old.size() >= 2 * time_index::entry_size);
  auto bad = old;
  auto* p = reinterpret_cast<uint8_t*>(bad.data()) + bad.size() - 12;
  store_le<int64_t>(p, load_le<int64_t>(p) - 5);  // still above the previous entry
  write_whole(f.time_file(0), bad);
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  REQUIRE(count_events(report, kind::rebuilt_index) == 1);
  CHECK(read_whole(f.time_file(0)) == old);
}

TEST_CASE("a stale index that misses the last entries is completed after a clean close") {
  fixture f(30, 500);
  auto old_index = read_whole(f.index_file(0));
  REQUIRE(old_index.size() >= 2 * offset_index::entry_size);
  write_whole(f.index_file(0), old_index.substr(0, offset_index::entry_size));
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  CHECK(l->segments()[0]->index().entries().size() == old_index.size() / 8);
  CHECK(l->segments()[0]->next_offset() == f.segs[0].next);
  CHECK(read_all(*l, offset(0), 1) == f.want);
}

TEST_CASE("a corrupt older segment after an unclean shutdown is quarantined") {
  fixture f(30, 500);
  REQUIRE(f.segs.size() >= 4);
  forget_clean_shutdown(f.dir.path());
  // A bad length field in the middle of segment 1.
  auto [pos, h] = f.segs[1].batches[1];
  std::string len(4, '\0');
  store_le<int32_t>(reinterpret_cast<uint8_t*>(len.data()), 2);
  overwrite(f.log_file(1), pos + batch_layout::batch_length, len);
  auto seg1_bytes = read_whole(f.log_file(1));
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  CHECK_FALSE(report.clean_shutdown);
  REQUIRE(report.events.size() == 1);
  const auto& e = report.events[0];
  CHECK(e.what == kind::quarantined_segment);
  CHECK(e.file == f.log_file(1));
  CHECK(e.dropped_bytes == f.segs[1].size);
  CHECK(e.first_dropped == f.segs[1].base);
  CHECK(e.dropped_until == f.segs[2].base);
  auto q = f.dir.path() / "quarantine";
  CHECK_FALSE(fs::exists(f.log_file(1)));
  CHECK_FALSE(fs::exists(f.index_file(1)));
  CHECK_FALSE(fs::exists(f.time_file(1)));
  CHECK(read_whole(q / f.log_file(1).filename()) == seg1_bytes);
  CHECK(fs::exists(q / f.index_file(1).filename()));
  CHECK(fs::exists(q / f.time_file(1).filename()));

  CHECK(l->segment_count() == f.segs.size() - 1);
  CHECK(l->log_start_offset() == offset(0));
  CHECK(l->next_offset() == f.next());
  CHECK(read_all(*l, offset(0), 1 << 20, f.segs[1].base) == f.want_below(f.segs[1].base));
  // A read inside the gap is served from the next segment.
  auto gap = l->read(f.segs[1].base + 1, 1);
  REQUIRE(gap);
  CHECK(gap->first_offset == f.segs[2].base);
  std::vector<rec> rest;
  for (const auto& r : f.want) {
    if (r.off >= f.segs[2].base) rest.push_back(r);
  }
  CHECK(read_all(*l, f.segs[2].base) == rest);
  check_appends_continue_at(*l, f.next());
}

TEST_CASE("an older segment with a corrupt base offset is quarantined after an unclean shutdown") {
  fixture f(30, 500);
  REQUIRE(f.segs.size() >= 3);
  forget_clean_shutdown(f.dir.path());
  auto [pos, h] = f.segs[0].batches[2];
  std::string base(8, '\0');
  store_le<int64_t>(reinterpret_cast<uint8_t*>(base.data()), h.base_offset() + 1);
  overwrite(f.log_file(0), pos, base);
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  REQUIRE(count_events(report, kind::quarantined_segment) == 1);
  CHECK(find_event(report, kind::quarantined_segment)->file == f.log_file(0));
  CHECK(l->log_start_offset() == f.segs[1].base);
  CHECK(l->read(offset(0), 10).error() == errc::offset_out_of_range);
  std::vector<rec> rest;
  for (const auto& r : f.want) {
    if (r.off >= f.segs[1].base) rest.push_back(r);
  }
  CHECK(read_all(*l, f.segs[1].base) == rest);
}

TEST_CASE("an unclean shutdown rebuilds every index from the log") {
  fixture f(30, 500);
  forget_clean_shutdown(f.dir.path());
  std::vector<std::string> indexes;
  for (size_t i = 0; i < f.segs.size(); ++i) {
    indexes.push_back(read_whole(f.index_file(i)));
    write_whole(f.index_file(i), "");  // a crash before the index was written
  }
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  CHECK(report.events.empty());
  for (size_t i = 0; i < f.segs.size(); ++i) CHECK(read_whole(f.index_file(i)) == indexes[i]);
  CHECK(read_all(*l, offset(0), 1) == f.want);
}

TEST_CASE("orphan index files and temporary files are removed and reported") {
  fixture f(5);
  write_whole(f.dir.path() / "00000000000000000777.index", "12345678");
  write_whole(f.dir.path() / "00000000000000000777.timeindex", "");
  write_whole(f.dir.path() / ".clean_shutdown.tmp", "cle");
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  CHECK(count_events(report, kind::removed_stray_file) == 3);
  CHECK_FALSE(fs::exists(f.dir.path() / "00000000000000000777.index"));
  CHECK_FALSE(fs::exists(f.dir.path() / "00000000000000000777.timeindex"));
  CHECK_FALSE(fs::exists(f.dir.path() / ".clean_shutdown.tmp"));
  CHECK(l->segment_count() == 1);
  CHECK(read_all(*l, offset(0)) == f.want);
}

TEST_CASE("lowering max batch bytes does not make existing batches corrupt") {
  fixture f(12, 500);
  forget_clean_shutdown(f.dir.path());
  auto cfg = f.cfg;
  cfg.max_batch_bytes = 64;  // smaller than every stored batch
  recovery_report report;
  auto l = open_log(f.dir.path(), cfg, &report);
  CHECK(report.events.empty());
  CHECK(read_all(*l, offset(0)) == f.want);
}

TEST_CASE("a segment overlapping the previous one is quarantined after a clean close") {
  fixture f(30, 500);
  REQUIRE(f.segs.size() >= 3);
  // A consistent segment from another log whose base lies inside segment 0.
  auto k = f.segs[0].base + 1;
  temp_dir other;
  {
    auto l = open_log(other.path(), f.cfg);
    std::vector<kv> first(static_cast<size_t>(k()), kv{"o", "o"});
    REQUIRE(append_copy(*l, make_batch(first, f.clock.now())));
    REQUIRE(l->roll());
    for (int i = 0; i < 3; ++i) REQUIRE(append_copy(*l, numbered_batch("dup", 2, f.clock.now())));
    REQUIRE(l->roll());
    REQUIRE(l->close());
  }
  for (const char* ext : {"log", "index", "timeindex"}) {
    fs::copy_file(seg_path(other.path(), k, ext), seg_path(f.dir.path(), k, ext));
  }
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  REQUIRE(report.events.size() == 1);
  CHECK(report.events[0].what == kind::quarantined_segment);
  CHECK(report.events[0].file == seg_path(f.dir.path(), k, "log"));
  CHECK_THAT(report.events[0].detail, Catch::Contains("overlaps"));
  CHECK(fs::exists(f.dir.path() / "quarantine" / seg_path(f.dir.path(), k, "log").filename()));
  CHECK(l->segment_count() == f.segs.size());
  CHECK(read_all(*l, offset(0)) == f.want);
}

TEST_CASE("a wrong middle index entry does not misdirect reads") {
  fixture f(30, 2000);
  REQUIRE(f.segs.size() >= 2);  // segment 0 is not the tail: its index is loaded
  auto index = read_whole(f.index_file(0));
  REQUIRE(index.size() >= 3 * offset_index::entry_size);
  // Entry 1 now points one byte into its batch; the first and last entries,
  // which open checks, are right.
  auto bad = index;
  auto* p = reinterpret_cast<uint8_t*>(bad.data()) + offset_index::entry_size + 4;
  store_le<uint32_t>(p, load_le<uint32_t>(p) + 1);
  write_whole(f.index_file(0), bad);
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  CHECK(report.events.empty());
  CHECK(read_all(*l, offset(0), 1) == f.want);
  for (const auto& r : f.want) {
    auto s = l->read(r.off, 1);
    REQUIRE(s);
    CHECK(s->first_offset <= r.off);
    CHECK(r.off < s->next_offset);
  }
}

TEST_CASE(
    "a corrupt batch header in a closed segment after a clean shutdown is never served, reads "
    "from it fail with corrupt_segment") {
  // Found by the log_recovery fuzzer (tests/fuzz/regressions/log_recovery/):
  // after a clean shutdown older segments are not re-validated on open, and
  // a read walked the corrupt header into a slice ending below its start.
  fixture f(16, 1000);
  REQUIRE(f.segs.size() >= 2);
  const auto& batches = f.segs[0].batches;
  REQUIRE(batches.size() >= 3);
  auto [pos, h] = batches[2];
  int32_t garbage = -452984829;
  overwrite(f.log_file(0), pos + batch_layout::last_offset_delta,
            std::string(reinterpret_cast<const char*>(&garbage), sizeof garbage));
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  CHECK(report.clean_shutdown);
  // The batches before it are served, and a read stops short of it.
  CHECK(read_all(*l, offset(0), 1 << 20, h.base_offset) == f.want_below(h.base_offset));
  auto from_start = l->read(offset(0), 1 << 20);
  REQUIRE(from_start);
  CHECK(from_start->next_offset == h.base_offset);
  // From it on, an error, not bytes.
  auto at_corrupt = l->read(h.base_offset, 1 << 20);
  REQUIRE_FALSE(at_corrupt);
  CHECK(at_corrupt.error() == errc::corrupt_segment);
  // The next segment still serves, and the log still takes appends.
  auto tail = l->read(f.segs[1].base, 1 << 20);
  REQUIRE(tail);
  CHECK(tail->next_offset > f.segs[1].base);
  check_appends_continue_at(*l, f.next());
}

TEST_CASE(
    "a bit flip inside a record of a closed segment is found by its CRC before it is served, "
    "after a clean shutdown or not") {
  // Older segments are not CRC-checked on open (that would read the whole
  // log at every start): their batches are checked once, when first read.
  const bool clean = GENERATE(true, false);
  fixture f(16, 1000);
  REQUIRE(f.segs.size() >= 2);
  if (!clean) forget_clean_shutdown(f.dir.path());
  const auto& batches = f.segs[0].batches;
  REQUIRE(batches.size() >= 3);
  auto [pos, h] = batches[2];
  auto data = read_whole(f.log_file(0));
  data[pos + h.size_bytes() - 3] ^= 0x40;  // in the last record's value
  write_whole(f.log_file(0), data);
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  CHECK(report.clean_shutdown == clean);
  CHECK(report.events.empty());  // not seen on open
  auto first = l->read(offset(0), 1 << 20);
  REQUIRE(first);
  CHECK(first->next_offset == h.base_offset);  // the batches before it
  CHECK(read_all(*l, offset(0), 1 << 20, h.base_offset) == f.want_below(h.base_offset));
  auto bad = l->read(h.base_offset, 1 << 20);
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == errc::corrupt_segment);
  auto tail = l->read(f.segs[1].base, 1 << 20);
  REQUIRE(tail);
  check_appends_continue_at(*l, f.next());
}

TEST_CASE(
    "when the tail segment is quarantined the closed segment before it is CRC-checked like a "
    "tail, so appends after it stay readable") {
  // Found by the log_recovery fuzzer: the segment before a quarantined tail
  // became the active one without its CRCs checked; a bad batch in it then
  // made every batch appended after it fail with corrupt_segment.
  const bool clean = GENERATE(true, false);
  fixture f(16, 1000);
  REQUIRE(f.segs.size() >= 2);
  if (!clean) forget_clean_shutdown(f.dir.path());
  const size_t last = f.segs.size() - 1;
  const auto& batches = f.segs[last - 1].batches;
  REQUIRE(batches.size() >= 3);
  auto [pos, h] = batches[2];
  auto data = read_whole(f.log_file(last - 1));
  data[pos + h.size_bytes() - 3] ^= 0x40;  // in the last record's value
  write_whole(f.log_file(last - 1), data);
  // The tail now claims a base inside the segment before it: quarantined.
  const offset moved = f.segs[last - 1].base + 1;
  for (const char* ext : {"log", "index", "timeindex"}) {
    fs::rename(seg_path(f.dir.path(), f.segs[last].base, ext), seg_path(f.dir.path(), moved, ext));
  }
  recovery_report report;
  auto l = open_log(f.dir.path(), f.cfg, &report);
  REQUIRE(report.events.size() == 2);
  CHECK(report.events[0].what == kind::quarantined_segment);
  CHECK(report.events[1].what == kind::truncated_tail);
  CHECK(report.events[1].file == f.log_file(last - 1));
  CHECK(report.events[1].first_dropped == h.base_offset);
  CHECK_THAT(report.events[1].detail, Catch::Contains("CRC"));
  CHECK(l->segment_count() == last);
  CHECK(l->next_offset() == h.base_offset);
  CHECK(read_all(*l, offset(0), 1) == f.want_below(h.base_offset));
  check_appends_continue_at(*l, h.base_offset);
}
