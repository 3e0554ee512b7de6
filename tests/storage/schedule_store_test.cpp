#include "storage/schedule_store.h"

#include <catch2/catch.hpp>
#include <cerrno>
#include <fstream>

#include "storage/errc.h"
#include "storage/fault_injector.h"
#include "storage/log_test_util.h"
#include "support/temp_dir.h"

using namespace actormq::storage;
using namespace std::chrono_literals;
using actormq::storage::test::armed;
using actormq::test::temp_dir;
namespace L = schedule_layout;

namespace {

constexpr int64_t minute = 60'000;
constexpr int64_t t0 = 1'732'500'000'000;  // a multiple of one minute

schedule_entry entry(int64_t due, uint64_t id, uint8_t kind = 0) {
  return {timestamp_ms(due), kind, id};
}

std::unique_ptr<schedule_store> open_store(const std::filesystem::path& dir,
                                           schedule_store_config cfg = {},
                                           recovery_report* report = nullptr) {
  auto s = schedule_store::open(dir, cfg, report);
  REQUIRE(s);
  return std::move(*s);
}

std::vector<schedule_entry> load(schedule_store& s, int64_t start) {
  auto b = s.load_bucket(timestamp_ms(start));
  REQUIRE(b);
  CHECK(b->corrupt_records == 0);
  return b->entries;
}

std::filesystem::path file_of(const temp_dir& d, int64_t start) {
  return d.path() / schedule_store::file_name(timestamp_ms(start));
}

void append_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::app);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void flip_byte(const std::filesystem::path& p, uint64_t pos) {
  std::fstream f(p, std::ios::binary | std::ios::in | std::ios::out);
  f.seekg(static_cast<std::streamoff>(pos));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(static_cast<std::streamoff>(pos));
  f.write(&c, 1);
}

}  // namespace

TEST_CASE("the bucket file name is the zero-padded bucket start") {
  CHECK(schedule_store::file_name(timestamp_ms(t0)) == "00000001732500000000.sched");
}

TEST_CASE("entries round trip through a reopen in add order") {
  temp_dir d;
  std::vector<schedule_entry> added;
  {
    auto s = open_store(d.path());
    for (uint64_t i = 0; i < 1000; ++i) {
      // Due times out of order inside the bucket; load keeps add order.
      added.push_back(
          entry(t0 + static_cast<int64_t>((i * 7919) % minute), i, static_cast<uint8_t>(i % 3)));
      REQUIRE(s->add(added.back()));
    }
    REQUIRE(s->flush());
    CHECK(s->buffered_bytes() == 0);
  }
  recovery_report report;
  auto s = open_store(d.path(), {}, &report);
  CHECK(report.events.empty());
  CHECK(s->buckets() == std::vector<timestamp_ms>{timestamp_ms(t0)});
  CHECK(s->record_count() == 1000);
  CHECK(load(*s, t0) == added);
  CHECK(std::filesystem::file_size(file_of(d, t0)) == L::header_size + 1000 * L::record_size);
}

TEST_CASE("an entry lands in the bucket that holds its due time") {
  temp_dir d;
  auto s = open_store(d.path());
  REQUIRE(s->add(entry(t0 - 1, 1)));
  REQUIRE(s->add(entry(t0, 2)));
  REQUIRE(s->add(entry(t0 + minute - 1, 3)));
  REQUIRE(s->add(entry(t0 + minute, 4)));
  REQUIRE(s->add(entry(t0 + 30 * 24 * 60 * minute, 5)));  // 30 days ahead
  CHECK(s->bucket_of(timestamp_ms(t0 + minute - 1)) == timestamp_ms(t0));
  CHECK(s->bucket_of(timestamp_ms(t0 + minute)) == timestamp_ms(t0 + minute));
  CHECK(s->bucket_count() == 4);
  CHECK(load(*s, t0 - minute) == std::vector{entry(t0 - 1, 1)});
  CHECK(load(*s, t0) == std::vector{entry(t0, 2), entry(t0 + minute - 1, 3)});
  CHECK(load(*s, t0 + minute) == std::vector{entry(t0 + minute, 4)});
  CHECK(load(*s, t0 + 2 * minute).empty());
  CHECK(s->next_bucket(timestamp_ms(t0 + 1)) == timestamp_ms(t0 + minute));
  CHECK(s->next_bucket(timestamp_ms(t0 + 2 * minute)) == timestamp_ms(t0 + 30 * 24 * 60 * minute));
  CHECK_FALSE(s->next_bucket(timestamp_ms(t0 + 31 * 24 * 60 * minute)));
}

TEST_CASE("buffered records are visible to load_bucket before flush") {
  temp_dir d;
  auto s = open_store(d.path());
  REQUIRE(s->add(entry(t0 + 5, 1)));
  CHECK(s->buffered_bytes() == L::header_size + L::record_size);
  CHECK(load(*s, t0) == std::vector{entry(t0 + 5, 1)});
  REQUIRE(s->flush());
  REQUIRE(s->add(entry(t0 + 6, 2)));
  CHECK(s->buffered_bytes() == L::record_size);
  CHECK(load(*s, t0) == std::vector{entry(t0 + 5, 1), entry(t0 + 6, 2)});
}

TEST_CASE("a torn trailing record is cut on open and reported") {
  temp_dir d;
  {
    auto s = open_store(d.path());
    for (uint64_t i = 0; i < 10; ++i) REQUIRE(s->add(entry(t0 + static_cast<int64_t>(i), i)));
    REQUIRE(s->flush());
  }
  const auto path = file_of(d, t0);
  const uint64_t good = std::filesystem::file_size(path);

  SECTION("a partial record") {
    append_bytes(path, std::string(10, '\x7f'));
  }
  SECTION("a whole record of zeros and a partial one") {
    append_bytes(path, std::string(L::record_size + 5, '\0'));
  }
  SECTION("the last whole record torn inside") {
    flip_byte(path, good - 3);
  }

  const uint64_t torn = std::filesystem::file_size(path);
  recovery_report report;
  auto s = open_store(d.path(), {}, &report);
  REQUIRE(report.events.size() == 1);
  CHECK(report.events[0].what == recovery_event::kind::truncated_tail);
  CHECK(report.events[0].file == path);
  const uint64_t expected_end = torn > good ? good : good - L::record_size;
  CHECK(report.events[0].dropped_bytes == torn - expected_end);
  CHECK(std::filesystem::file_size(path) == expected_end);
  const auto entries = load(*s, t0);
  CHECK(entries.size() == (torn > good ? 10u : 9u));
  // Appends continue at a record boundary after the cut.
  REQUIRE(s->add(entry(t0 + 50, 50)));
  REQUIRE(s->flush());
  auto again = open_store(d.path());
  CHECK(load(*again, t0).back() == entry(t0 + 50, 50));
}

TEST_CASE(
    "a cut of a torn tail that the disk fails is an error with the cut reported as far "
    "as it went, and a later open keeps every whole entry") {
  temp_dir d;
  {
    auto s = open_store(d.path());
    for (uint64_t i = 0; i < 4; ++i) REQUIRE(s->add(entry(t0 + static_cast<int64_t>(i), i)));
    REQUIRE(s->flush());
  }
  const auto path = file_of(d, t0);
  const uint64_t good = std::filesystem::file_size(path);
  append_bytes(path, std::string(10, '\x7f'));

  SECTION("the truncate fails: nothing is cut or reported") {
    armed faults{test::rule(fault_op::truncate, EIO, path)};
    recovery_report report;
    auto failed = schedule_store::open(d.path(), {}, &report);
    REQUIRE_FALSE(failed);
    CHECK(failed.error() == std::error_code(EIO, std::system_category()));
    CHECK(report.events.empty());
    CHECK(std::filesystem::file_size(path) == good + 10);
  }
  SECTION("the sync of the cut fails: the cut is reported") {
    armed faults{test::rule(fault_op::sync, EIO, path)};
    recovery_report report;
    auto failed = schedule_store::open(d.path(), {}, &report);
    REQUIRE_FALSE(failed);
    CHECK(failed.error() == std::error_code(EIO, std::system_category()));
    REQUIRE(report.events.size() == 1);
    CHECK(report.events[0].what == recovery_event::kind::truncated_tail);
    CHECK(report.events[0].dropped_bytes == 10);
    CHECK(std::filesystem::file_size(path) == good);
  }
  auto s = open_store(d.path());
  const auto entries = load(*s, t0);
  REQUIRE(entries.size() == 4);
  CHECK(entries.back() == entry(t0 + 3, 3));
  CHECK(std::filesystem::file_size(path) == good);
}

TEST_CASE("a record with a bad CRC in the middle is skipped and counted") {
  temp_dir d;
  {
    auto s = open_store(d.path());
    for (uint64_t i = 0; i < 5; ++i) REQUIRE(s->add(entry(t0 + static_cast<int64_t>(i), i)));
    REQUIRE(s->flush());
  }
  flip_byte(file_of(d, t0), L::header_size + 2 * L::record_size + 12);
  recovery_report report;
  auto s = open_store(d.path(), {}, &report);
  CHECK(report.events.empty());  // the tail is intact
  auto b = s->load_bucket(timestamp_ms(t0));
  REQUIRE(b);
  CHECK(b->corrupt_records == 1);
  CHECK(b->entries ==
        std::vector{entry(t0 + 0, 0), entry(t0 + 1, 1), entry(t0 + 3, 3), entry(t0 + 4, 4)});
}

TEST_CASE("a file shorter than its header is removed on open") {
  temp_dir d;
  append_bytes(file_of(d, t0), "AMQS\x01");
  recovery_report report;
  auto s = open_store(d.path(), {}, &report);
  REQUIRE(report.events.size() == 1);
  CHECK(report.events[0].what == recovery_event::kind::removed_stray_file);
  CHECK(report.events[0].dropped_bytes == 5);
  CHECK_FALSE(std::filesystem::exists(file_of(d, t0)));
  CHECK(s->bucket_count() == 0);
}

TEST_CASE("a file with a bad header is quarantined") {
  temp_dir d;
  {
    auto s = open_store(d.path());
    REQUIRE(s->add(entry(t0 + 1, 1)));
    REQUIRE(s->add(entry(t0 + minute, 2)));
    REQUIRE(s->flush());
  }
  flip_byte(file_of(d, t0), 9);  // inside bucket_start
  recovery_report report;
  auto s = open_store(d.path(), {}, &report);
  REQUIRE(report.events.size() == 1);
  CHECK(report.events[0].what == recovery_event::kind::quarantined_segment);
  CHECK(std::filesystem::exists(d.path() / "quarantine" /
                                schedule_store::file_name(timestamp_ms(t0))));
  CHECK(s->buckets() == std::vector<timestamp_ms>{timestamp_ms(t0 + minute)});
}

TEST_CASE("a file named for another bucket than its header is quarantined") {
  temp_dir d;
  {
    auto s = open_store(d.path());
    REQUIRE(s->add(entry(t0 + 1, 1)));
    REQUIRE(s->flush());
  }
  std::filesystem::rename(file_of(d, t0), file_of(d, t0 + minute));
  recovery_report report;
  auto s = open_store(d.path(), {}, &report);
  REQUIRE(report.events.size() == 1);
  CHECK(report.events[0].what == recovery_event::kind::quarantined_segment);
  CHECK(s->bucket_count() == 0);
}

TEST_CASE("cancelled entries are not loaded") {
  temp_dir d;
  auto s = open_store(d.path());
  REQUIRE(s->add(entry(t0 + 1, 1)));
  REQUIRE(s->add(entry(t0 + 2, 2, 2)));
  REQUIRE(s->add(entry(t0 + 3, 3)));
  REQUIRE(s->cancel(entry(t0 + 2, 2, 2)));
  REQUIRE(s->cancel(entry(t0 + 3, 1)));           // id 1 of the same kind: same bucket
  REQUIRE(s->cancel(entry(t0 + 9 * minute, 7)));  // no such bucket: nothing to do
  CHECK(s->bucket_count() == 1);
  REQUIRE(s->flush());
  CHECK(load(*s, t0) == std::vector{entry(t0 + 3, 3)});
  auto again = open_store(d.path());
  CHECK(load(*again, t0) == std::vector{entry(t0 + 3, 3)});
}

TEST_CASE("delivered entries are not loaded but later adds are") {
  temp_dir d;
  auto s = open_store(d.path());
  REQUIRE(s->add(entry(t0 + 10, 1)));
  REQUIRE(s->add(entry(t0 + 20, 2)));
  REQUIRE(s->add(entry(t0 + 30, 3)));
  REQUIRE(s->mark_delivered(timestamp_ms(t0 + 20)));
  // Added after the mark (a late add already due): still pending.
  REQUIRE(s->add(entry(t0 + 15, 4)));
  REQUIRE(s->mark_delivered(timestamp_ms(t0 + 5 * minute)));  // no such bucket: no-op
  REQUIRE(s->flush());
  auto again = open_store(d.path());
  CHECK(load(*again, t0) == std::vector{entry(t0 + 30, 3), entry(t0 + 15, 4)});
}

TEST_CASE("a removed bucket is gone after reopen") {
  temp_dir d;
  {
    auto s = open_store(d.path());
    REQUIRE(s->add(entry(t0 + 1, 1)));
    REQUIRE(s->add(entry(t0 + minute + 1, 2)));
    REQUIRE(s->flush());
    REQUIRE(s->remove_bucket(timestamp_ms(t0)));
    REQUIRE(s->remove_bucket(timestamp_ms(t0 + 7 * minute)));  // none: fine
    REQUIRE(s->flush());
    CHECK_FALSE(std::filesystem::exists(file_of(d, t0)));
    // The same bucket can be written again from scratch.
    REQUIRE(s->add(entry(t0 + 2, 3)));
    REQUIRE(s->flush());
  }
  auto s = open_store(d.path());
  CHECK(s->bucket_count() == 2);
  CHECK(load(*s, t0) == std::vector{entry(t0 + 2, 3)});
}

TEST_CASE("reopening with another bucket width keeps the width on disk") {
  temp_dir d;
  {
    auto s = open_store(d.path(), {1min, 64, 64 * 1024});
    REQUIRE(s->add(entry(t0 + 90'000, 1)));
    REQUIRE(s->flush());
  }
  auto s = open_store(d.path(), {10min, 64, 64 * 1024});
  CHECK(s->bucket_width() == 1min);
  CHECK(s->bucket_of(timestamp_ms(t0 + 90'000)) == timestamp_ms(t0 + minute));
  CHECK(load(*s, t0 + minute) == std::vector{entry(t0 + 90'000, 1)});
}

TEST_CASE("negative due times and bad configurations are rejected") {
  temp_dir d;
  auto s = open_store(d.path());
  CHECK(s->add(entry(-1, 1)).error() == errc::invalid_argument);
  CHECK(schedule_store::open(d.path() / "x", {0ms, 64, 1024}).error() == errc::invalid_argument);
  CHECK(schedule_store::open(d.path() / "y", {1min, 0, 1024}).error() == errc::invalid_argument);
}

TEST_CASE("open files stay within max_open_files") {
  temp_dir d;
  auto s = open_store(d.path(), {1min, 4, 1});  // write through: every add opens its file
  for (int64_t b = 0; b < 20; ++b) {
    for (uint64_t i = 0; i < 3; ++i) {
      REQUIRE(s->add(
          entry(t0 + b * minute + static_cast<int64_t>(i), static_cast<uint64_t>(b) * 10 + i)));
    }
    CHECK(s->open_files() <= 4);
  }
  REQUIRE(s->flush());
  for (int64_t b = 0; b < 20; ++b) {
    CHECK(load(*s, t0 + b * minute).size() == 3);
    CHECK(s->open_files() <= 4);
  }
  auto again = open_store(d.path());
  CHECK(again->record_count() == 60);
}

TEST_CASE("loading the near bucket reads only its entries") {
  temp_dir d;
  constexpr int64_t buckets = 200;
  constexpr uint64_t per_bucket = 1000;
  {
    auto s = open_store(d.path());
    for (uint64_t i = 0; i < per_bucket; ++i) {
      for (int64_t b = 0; b < buckets; ++b) {
        REQUIRE(s->add(entry(t0 + b * minute + static_cast<int64_t>(i),
                             static_cast<uint64_t>(b) * per_bucket + i)));
      }
    }
    // Write buffers are bounded per bucket and freed once written.
    CHECK(s->buffered_bytes() <= buckets * (64 * 1024 + L::record_size));
    REQUIRE(s->flush());
    CHECK(s->buffered_bytes() == 0);
  }
  auto s = open_store(d.path());
  // Opening reads no entries: nothing is buffered, no file is kept open.
  CHECK(s->bucket_count() == buckets);
  CHECK(s->record_count() == buckets * per_bucket);
  CHECK(s->buffered_bytes() == 0);
  CHECK(s->open_files() == 0);
  auto near = load(*s, t0 + 3 * minute);
  REQUIRE(near.size() == per_bucket);
  for (uint64_t i = 0; i < per_bucket; ++i) CHECK(near[i].id == 3 * per_bucket + i);
  CHECK(s->open_files() == 1);
}

TEST_CASE("the lowest entry id follows adds and removed buckets and survives a reopen") {
  temp_dir d;
  {
    auto s = open_store(d.path());
    CHECK_FALSE(s->lowest_entry_id());
    REQUIRE(s->add(entry(t0 + 2 * minute, 50)));
    REQUIRE(s->add(entry(t0 + 1, 70)));
    REQUIRE(s->add(entry(t0 + 2, 60)));
    CHECK(s->lowest_entry_id() == 50u);
    // Delivered and cancelled entries still count until their bucket goes.
    REQUIRE(s->cancel(entry(t0 + 2 * minute, 50)));
    CHECK(s->lowest_entry_id() == 50u);
    REQUIRE(s->flush());
  }
  {
    auto s = open_store(d.path());
    CHECK(s->lowest_entry_id() == 50u);  // read back from the files
    REQUIRE(s->remove_bucket(timestamp_ms(t0 + 2 * minute)));
    CHECK(s->lowest_entry_id() == 60u);
    REQUIRE(s->remove_bucket(timestamp_ms(t0)));
    CHECK_FALSE(s->lowest_entry_id());
    REQUIRE(s->flush());
  }
  auto s = open_store(d.path());
  CHECK_FALSE(s->lowest_entry_id());
}

TEST_CASE("the lowest entry id of a bucket with more records than one read chunk") {
  temp_dir d;
  {
    auto s = open_store(d.path());
    // 10000 records span several 4096-record chunks; the lowest is near the end.
    for (uint64_t i = 0; i < 10000; ++i) REQUIRE(s->add(entry(t0 + 5, 100000 - i)));
    REQUIRE(s->flush());
  }
  auto s = open_store(d.path());
  CHECK(s->lowest_entry_id() == 90001u);
}
