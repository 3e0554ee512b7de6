// Disk faults injected under file_handle (storage/fault_injector.h), so that
// each runs on any machine without root: a full disk, I/O errors on write,
// read and sync, torn and short writes. Each case checks the error the
// caller sees, that nothing acknowledged is lost, and that the log works
// again once the fault clears (at once, or after a reopen where the log
// must refuse writes: a failed fdatasync).

#include <catch2/catch.hpp>

#include <cerrno>

#include "storage/fault_injector.h"
#include "storage/log.h"
#include "storage/log_test_util.h"
#include "support/temp_dir.h"

using namespace actormq::storage;
using namespace actormq::storage::test;
using actormq::test::temp_dir;

namespace {

/// A log in dir with `batches` acknowledged (appended) batches.
std::unique_ptr<partition_log> log_with(const temp_dir& dir, const log_config& cfg, int batches) {
  auto l = open_log(dir.path(), cfg);
  for (int b = 0; b < batches; ++b) {
    REQUIRE(append_copy(*l, numbered_batch("b" + std::to_string(b), 2, timestamp_ms(b), 20)));
  }
  return l;
}

}  // namespace

TEST_CASE("an append that meets a full disk is refused with disk_full and leaves nothing behind") {
  temp_dir dir;
  manual_clock clock;
  auto l = log_with(dir, small_config(clock), 3);
  auto before = read_all(*l, offset(0));
  const auto end = l->next_offset();
  {
    armed faults{rule(fault_op::write, ENOSPC, dir.path(), 0)};
    auto r = append_copy(*l, numbered_batch("refused", 2, timestamp_ms(9), 20));
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::disk_full);
    CHECK(l->next_offset() == end);
    CHECK(read_all(*l, offset(0)) == before);  // still served
    CHECK(fault_injector::instance().fired() > 0);
  }
  // Space is back: the log goes on at the same offset, no restart needed.
  auto r = append_copy(*l, numbered_batch("after", 2, timestamp_ms(10), 20));
  REQUIRE(r);
  CHECK(r->base_offset == end);
  REQUIRE(l->close());
  auto again = open_log(dir.path(), small_config(clock));
  auto all = read_all(*again, offset(0));
  REQUIRE(all.size() == before.size() + 2);
  CHECK(std::equal(before.begin(), before.end(), all.begin()));
  CHECK(all.back().key == "after-k1");
}

TEST_CASE(
    "a full disk while a roll creates the next segment refuses the append and keeps the log") {
  temp_dir dir;
  manual_clock clock;
  auto l = log_with(dir, small_config(clock, 300), 2);
  auto before = read_all(*l, offset(0));
  const auto end = l->next_offset();
  {
    // The next batch does not fit: the roll's new segment cannot be created.
    armed faults{rule(fault_op::open, ENOSPC, dir.path(), 0)};
    auto r = append_copy(*l, numbered_batch("big", 8, timestamp_ms(9), 40));
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::disk_full);
    CHECK(l->next_offset() == end);
  }
  auto r = append_copy(*l, numbered_batch("big", 8, timestamp_ms(9), 40));
  REQUIRE(r);
  CHECK(r->base_offset == end);
  CHECK(read_all(*l, offset(0)).size() == before.size() + 8);
}

TEST_CASE("a multi batch append that meets a full disk half way appends nothing") {
  temp_dir dir;
  manual_clock clock;
  auto l = log_with(dir, small_config(clock, 1 << 20), 2);
  auto before = read_all(*l, offset(0));
  const auto end = l->next_offset();
  auto three = numbered_batch("x", 2, timestamp_ms(9), 20) +
               numbered_batch("y", 2, timestamp_ms(9), 20) +
               numbered_batch("z", 2, timestamp_ms(9), 20);
  {
    fault_rule full = rule(fault_op::write, ENOSPC, dir.path() / "00000000000000000000.log", 0);
    full.skip = 1;  // the first batch is written, the second meets the full disk
    armed faults{full};
    auto r = append_copy(*l, three);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::disk_full);
  }
  CHECK(l->next_offset() == end);
  CHECK(read_all(*l, offset(0)) == before);
  REQUIRE(l->close());
  auto again = open_log(dir.path(), small_config(clock, 1 << 20));
  CHECK(read_all(*again, offset(0)) == before);  // the first batch is not on disk either
  auto r = append_copy(*again, three);
  REQUIRE(r);
  CHECK(r->base_offset == end);
}

TEST_CASE("a roll whose index write meets a full disk fails the append but not the log") {
  temp_dir dir;
  manual_clock clock;
  auto one = numbered_batch("a", 1, timestamp_ms(1), 3000);
  auto cfg = small_config(clock, 2 * one.size());  // two batches per segment
  cfg.index_interval_bytes = 64;
  auto l = open_log(dir.path(), cfg);
  REQUIRE(append_copy(*l, one));
  REQUIRE(append_copy(*l, one));
  REQUIRE(l->segment_count() == 1);
  {
    armed faults{rule(fault_op::write, ENOSPC, ".index", 0)};  // written at the roll
    auto r = append_copy(*l, one);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::disk_full);
  }
  CHECK(l->next_offset() == offset(2));
  auto again = append_copy(*l, numbered_batch("b", 1, timestamp_ms(2), 3000));
  REQUIRE(again);
  CHECK(again->base_offset == offset(2));
  CHECK(l->segment_count() == 2);
  auto got = read_all(*l, offset(0));
  REQUIRE(got.size() == 3);
  CHECK(got[2].key == "b-k0");
  REQUIRE(l->close());
  l.reset();
  recovery_report report;
  auto reopened = open_log(dir.path(), cfg, &report);
  CHECK(report.events.empty());
  CHECK(read_all(*reopened, offset(0)) == got);
}

TEST_CASE("a torn write is refused and never served, and a crash right after it is cut on reopen") {
  temp_dir dir;
  manual_clock clock;
  auto cfg = small_config(clock);
  auto l = log_with(dir, cfg, 3);
  auto before = read_all(*l, offset(0));
  const auto end = l->next_offset();
  SECTION("the segment cuts the torn bytes at once and the log goes on") {
    fault_rule torn = rule(fault_op::write, EIO, dir.path());
    torn.after = 25;  // part of the header reaches the file
    armed faults{torn};
    auto r = append_copy(*l, numbered_batch("torn", 2, timestamp_ms(9), 20));
    REQUIRE_FALSE(r);
    CHECK(r.error() == std::error_code(EIO, std::system_category()));
    CHECK(l->next_offset() == end);
    CHECK(read_all(*l, offset(0)) == before);
  }
  SECTION("a crash right after it: the reopen cuts the torn bytes") {
    fault_rule torn = rule(fault_op::write, EIO, dir.path());
    torn.after = 25;
    {
      // The segment cuts a failed write's bytes at once; the crash comes
      // before that cut reaches the disk (here: the cut fails).
      armed faults{torn, rule(fault_op::truncate, EIO, dir.path())};
      REQUIRE_FALSE(append_copy(*l, numbered_batch("torn", 2, timestamp_ms(9), 20)));
    }
    l.reset();  // the process dies here
    forget_clean_shutdown(dir.path());
    recovery_report report;
    auto again = open_log(dir.path(), cfg, &report);
    CHECK(count_events(report, recovery_event::kind::truncated_tail) == 1);
    CHECK(report.dropped_bytes() == 25);
    CHECK(read_all(*again, offset(0)) == before);
    l = std::move(again);
  }
  auto r = append_copy(*l, numbered_batch("after", 2, timestamp_ms(11), 20));
  REQUIRE(r);
  CHECK(r->base_offset == end);
}

TEST_CASE("short writes and interrupted calls are continued: every byte reaches the file") {
  temp_dir dir;
  manual_clock clock;
  fault_rule short_write = rule(fault_op::write, 0, dir.path(), 0);
  short_write.after = 7;  // every pwrite takes 7 bytes at most
  // The first matching rule applies: the EINTRs come first, then every
  // write is cut short.
  armed faults{rule(fault_op::write, EINTR, dir.path(), 3),
               rule(fault_op::read, EINTR, dir.path(), 3), short_write};
  auto l = log_with(dir, small_config(clock), 4);
  auto got = read_all(*l, offset(0));
  REQUIRE(got.size() == 8);
  CHECK(got[7].key == "b3-k1");
  REQUIRE(l->close());
  auto again = open_log(dir.path(), small_config(clock));
  CHECK(read_all(*again, offset(0)) == got);
}

TEST_CASE("a failed fdatasync stops the log's writes and a reopen finds every synced batch") {
  // After a failed fdatasync the kernel may have dropped the dirty pages and
  // a later fsync can succeed without them (PostgreSQL's fsyncgate): the
  // log trusts nothing unsynced and refuses writes until it is reopened.
  temp_dir dir;
  manual_clock clock;
  auto cfg = small_config(clock);
  cfg.flush = flush_policy::every_append();
  auto l = log_with(dir, cfg, 3);
  auto synced = read_all(*l, offset(0));
  {
    armed faults{rule(fault_op::sync, EIO, dir.path())};
    auto r = append_copy(*l, numbered_batch("unsynced", 2, timestamp_ms(9), 20));
    REQUIRE_FALSE(r);
    CHECK(r.error() == std::error_code(EIO, std::system_category()));
  }
  auto refused = append_copy(*l, numbered_batch("later", 1, timestamp_ms(10), 20));
  REQUIRE_FALSE(refused);
  CHECK(refused.error() == errc::log_closed);
  l.reset();
  auto again = open_log(dir.path(), cfg);
  auto all = read_all(*again, offset(0));
  REQUIRE(all.size() >= synced.size());
  CHECK(std::equal(synced.begin(), synced.end(), all.begin()));
  CHECK(append_copy(*again, numbered_batch("after", 1, timestamp_ms(11), 20)));
}

TEST_CASE("a read error is returned to the reader and the next read succeeds") {
  temp_dir dir;
  manual_clock clock;
  auto l = log_with(dir, small_config(clock), 3);
  auto before = read_all(*l, offset(0));
  {
    armed faults{rule(fault_op::read, EIO, dir.path())};
    auto r = l->read(offset(0), 1 << 20);
    REQUIRE_FALSE(r);
    CHECK(r.error() == std::error_code(EIO, std::system_category()));
  }
  CHECK(read_all(*l, offset(0)) == before);
}

TEST_CASE("a reopen on a disk that fails reads is an error, and a later one recovers everything") {
  temp_dir dir;
  manual_clock clock;
  auto cfg = small_config(clock);
  auto l = log_with(dir, cfg, 3);
  auto before = read_all(*l, offset(0));
  REQUIRE(l->close());
  l.reset();
  {
    armed faults{rule(fault_op::read, EIO, dir.path(), 0)};
    auto failed = partition_log::open(dir.path(), cfg);
    REQUIRE_FALSE(failed);
  }
  auto again = open_log(dir.path(), cfg);
  CHECK(read_all(*again, offset(0)) == before);
}

TEST_CASE("fault rules parse from the file format, and a bad line is named") {
  std::vector<fault_rule> rules;
  auto err = fault_injector::parse(
      "# comment\n"
      "write ENOSPC path=topics/orders/0 count=2\n"
      "\n"
      "write EIO after=100 skip=3   # torn\n"
      "sync EIO\n"
      "write 0 after=7\n",
      rules);
  REQUIRE_FALSE(err);
  REQUIRE(rules.size() == 4);
  CHECK(rules[0].op == fault_op::write);
  CHECK(rules[0].error == ENOSPC);
  CHECK(rules[0].path == "topics/orders/0");
  CHECK(rules[0].count == 2);
  CHECK(rules[1].after == 100u);
  CHECK(rules[1].skip == 3);
  CHECK(rules[2].op == fault_op::sync);
  CHECK(rules[3].error == 0);
  for (const char* bad : {"write", "scribble EIO", "write EWHAT", "read EIO after=3", "write 0",
                          "write EIO count=x", "write EIO colour=red"}) {
    std::vector<fault_rule> out;
    auto e = fault_injector::parse(std::string("sync EIO\n") + bad + "\n", out);
    INFO(bad);
    REQUIRE(e);
    CHECK_THAT(*e, Catch::Contains("line 2"));
  }
}
