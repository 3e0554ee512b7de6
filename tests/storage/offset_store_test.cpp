#include "storage/offset_store.h"

#include <catch2/catch.hpp>
#include <cerrno>
#include <fstream>

#include "storage/errc.h"
#include "storage/fault_injector.h"
#include "storage/log_test_util.h"
#include "support/temp_dir.h"

using namespace actormq::storage;
using actormq::storage::test::armed;
using actormq::test::temp_dir;

namespace {

std::unique_ptr<offset_store> open_store(const temp_dir& dir, offset_store_config cfg = {},
                                         recovery_report* report = nullptr) {
  auto s = offset_store::open(dir.path(), cfg, report);
  REQUIRE(s);
  return std::move(s).value();
}

void commit_one(offset_store& s, const std::string& group, const std::string& topic,
                int32_t partition, int64_t next, std::string metadata, int64_t now) {
  std::vector<offset_commit> batch{{topic, partition, offset(next), std::move(metadata)}};
  REQUIRE(s.commit(group, batch, timestamp_ms(now)));
}

uint64_t size_on_disk(const temp_dir& dir) {
  return std::filesystem::file_size(dir.path() / "offsets.log");
}

}  // namespace

TEST_CASE("offset store round trip returns the latest commit per partition") {
  temp_dir dir;
  auto s = open_store(dir);
  std::vector<offset_commit> batch{{"t", 0, offset(10), "m0"}, {"t", 1, offset(20), ""}};
  REQUIRE(s->commit("g1", batch, timestamp_ms(1000)));
  commit_one(*s, "g2", "u", 3, 7, "other", 1001);
  commit_one(*s, "g1", "t", 0, 15, "m0b", 1002);
  CHECK(s->pending_records() == 4);

  auto c = s->fetch("g1", "t", 0);
  REQUIRE(c);
  CHECK(c->next_offset == offset(15));
  CHECK(c->metadata == "m0b");
  CHECK(c->commit_time == timestamp_ms(1002));
  CHECK_FALSE(s->fetch("g1", "t", 2));
  CHECK_FALSE(s->fetch("g3", "t", 0));

  auto g1 = s->fetch_group("g1");
  REQUIRE(g1.size() == 2);
  CHECK(g1.at({"t", 1}) == committed_offset{offset(20), "", timestamp_ms(1000)});
  CHECK(s->groups() == std::vector<std::string>{"g1", "g2"});

  REQUIRE(s->flush());
  CHECK(s->pending_records() == 0);
  CHECK(size_on_disk(dir) == s->file_bytes());
}

TEST_CASE("a reopened offset store restores committed offsets") {
  temp_dir dir;
  {
    auto s = open_store(dir);
    commit_one(*s, "g", "t", 0, 100, "a", 5);
    commit_one(*s, "g", "t", 1, 200, "b", 6);
    commit_one(*s, "g", "t", 0, 150, "c", 7);
    REQUIRE(s->flush());
    commit_one(*s, "h", "t", 0, 1, "", 8);  // flushed by close
    REQUIRE(s->close());
    CHECK(s->commit("g", std::vector<offset_commit>{}, timestamp_ms(9)).error() ==
          errc::log_closed);
  }
  recovery_report report;
  auto s = open_store(dir, {}, &report);
  CHECK(report.events.empty());
  CHECK(s->fetch("g", "t", 0) == committed_offset{offset(150), "c", timestamp_ms(7)});
  CHECK(s->fetch("g", "t", 1) == committed_offset{offset(200), "b", timestamp_ms(6)});
  CHECK(s->fetch("h", "t", 0) == committed_offset{offset(1), "", timestamp_ms(8)});
  CHECK(s->groups() == std::vector<std::string>{"g", "h"});
}

TEST_CASE("a torn trailing offset record is cut and reported") {
  temp_dir dir;
  uint64_t good_size = 0;
  {
    auto s = open_store(dir);
    commit_one(*s, "g", "t", 0, 10, "", 1);
    REQUIRE(s->flush());
    good_size = size_on_disk(dir);
    commit_one(*s, "g", "t", 0, 20, "", 2);
    REQUIRE(s->close());
  }
  // A crash in the middle of the second record's write.
  std::filesystem::resize_file(dir.path() / "offsets.log", size_on_disk(dir) - 5);
  const uint64_t torn_size = size_on_disk(dir);

  recovery_report report;
  auto s = open_store(dir, {}, &report);
  REQUIRE(report.events.size() == 1);
  CHECK(report.events[0].what == recovery_event::kind::truncated_tail);
  CHECK(report.events[0].dropped_bytes == torn_size - good_size);
  CHECK_THAT(report.events[0].detail, Catch::Contains("torn record"));
  CHECK(size_on_disk(dir) == good_size);
  CHECK(s->fetch("g", "t", 0)->next_offset == offset(10));

  // Appends continue after the cut and survive the next reopen.
  commit_one(*s, "g", "t", 0, 30, "", 3);
  REQUIRE(s->close());
  recovery_report again;
  auto reopened = open_store(dir, {}, &again);
  CHECK(again.events.empty());
  CHECK(reopened->fetch("g", "t", 0)->next_offset == offset(30));
}

TEST_CASE("an offsets recovery whose cut the disk refuses fails the open and loses no commit") {
  temp_dir dir;
  {
    auto s = open_store(dir);
    commit_one(*s, "g", "t", 0, 10, "", 1);
    commit_one(*s, "g", "t", 1, 7, "m", 2);
    REQUIRE(s->close());
  }
  const uint64_t good_size = size_on_disk(dir);
  {
    std::ofstream f(dir.path() / "offsets.log", std::ios::binary | std::ios::app);
    f << "torn";  // a crash in the middle of the next record's write
  }
  {
    armed faults{test::rule(fault_op::truncate, EIO, dir.path() / "offsets.log")};
    recovery_report report;
    auto failed = offset_store::open(dir.path(), {}, &report);
    REQUIRE_FALSE(failed);
    CHECK(failed.error() == std::error_code(EIO, std::system_category()));
    CHECK(report.events.empty());
    CHECK(size_on_disk(dir) == good_size + 4);
  }
  recovery_report report;
  auto s = open_store(dir, {}, &report);
  REQUIRE(report.events.size() == 1);
  CHECK(report.events[0].dropped_bytes == 4);
  CHECK(size_on_disk(dir) == good_size);
  CHECK(s->fetch("g", "t", 0)->next_offset == offset(10));
  CHECK(s->fetch("g", "t", 1)->next_offset == offset(7));
  CHECK(s->fetch("g", "t", 1)->metadata == "m");
}

TEST_CASE("an offset record with a bad crc is dropped with everything after it") {
  temp_dir dir;
  uint64_t first_size = 0;
  {
    auto s = open_store(dir);
    commit_one(*s, "g", "t", 0, 10, "", 1);
    REQUIRE(s->flush());
    first_size = size_on_disk(dir);
    commit_one(*s, "g", "t", 1, 20, "meta", 2);
    commit_one(*s, "g", "t", 2, 30, "", 3);
    REQUIRE(s->close());
  }
  const uint64_t full_size = size_on_disk(dir);
  {
    // Flip the first metadata byte of the second record: header (8), fixed
    // body (12), group "g", topic length, "t", partition, offset, meta length.
    std::fstream f(dir.path() / "offsets.log", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(first_size + 8 + 12 + 1 + 2 + 1 + 4 + 8 + 4));
    f.put('X');
  }
  recovery_report report;
  auto s = open_store(dir, {}, &report);
  REQUIRE(report.events.size() == 1);
  CHECK(report.events[0].dropped_bytes == full_size - first_size);
  CHECK_THAT(report.events[0].detail, Catch::Contains("CRC mismatch"));
  CHECK(s->fetch("g", "t", 0));
  CHECK_FALSE(s->fetch("g", "t", 1));
  CHECK_FALSE(s->fetch("g", "t", 2));
}

TEST_CASE("compaction keeps the latest values and shrinks the file to the live set") {
  temp_dir dir;
  offset_store_config cfg;
  cfg.compaction_ratio = 3.0;
  cfg.min_compaction_bytes = 0;
  {
    auto s = open_store(dir, cfg);
    commit_one(*s, "g", "t", 1, 5, "keep", 1);
    REQUIRE(s->flush());
    const uint64_t one_record = s->live_bytes();
    CHECK(s->file_bytes() == one_record);
    bool compacted = false;
    for (int i = 0; i < 10; ++i) {
      const uint64_t before = s->file_bytes();
      commit_one(*s, "g", "t", 0, 100 + i, "v" + std::to_string(i), 10 + i);
      REQUIRE(s->flush());
      compacted = compacted || s->file_bytes() < before;  // shrank despite the append
      // The file never stays above the ratio after a flush.
      CHECK(static_cast<double>(s->file_bytes()) <= 3.0 * static_cast<double>(s->live_bytes()));
    }
    CHECK(compacted);
    REQUIRE(s->compact());
    CHECK(s->file_bytes() == s->live_bytes());
    CHECK(size_on_disk(dir) == s->live_bytes());
    commit_one(*s, "g", "t", 2, 1, "", 30);  // queued, written by close
  }
  recovery_report report;
  auto s = open_store(dir, cfg, &report);
  CHECK(report.events.empty());
  CHECK(s->fetch("g", "t", 0) == committed_offset{offset(109), "v9", timestamp_ms(19)});
  CHECK(s->fetch("g", "t", 1) == committed_offset{offset(5), "keep", timestamp_ms(1)});
  CHECK(s->fetch("g", "t", 2)->next_offset == offset(1));
  CHECK_FALSE(std::filesystem::exists(dir.path() / "offsets.log.tmp"));
}

TEST_CASE("deleting a group forgets its offsets across a reopen and a compaction") {
  temp_dir dir;
  {
    auto s = open_store(dir);
    commit_one(*s, "gone", "t", 0, 10, "", 1);
    commit_one(*s, "gone", "u", 1, 11, "", 1);
    commit_one(*s, "stay", "t", 0, 12, "", 1);
    const uint64_t live_before = s->live_bytes();
    REQUIRE(s->delete_group("gone", timestamp_ms(2)));
    CHECK(s->live_bytes() < live_before);
    CHECK(s->fetch_group("gone").empty());
    CHECK(s->groups() == std::vector<std::string>{"stay"});
    REQUIRE(s->flush());
  }
  {
    auto s = open_store(dir);
    CHECK_FALSE(s->fetch("gone", "t", 0));
    CHECK_FALSE(s->fetch("gone", "u", 1));
    CHECK(s->fetch("stay", "t", 0)->next_offset == offset(12));
    CHECK(s->groups() == std::vector<std::string>{"stay"});
    // A group can commit again after being deleted.
    commit_one(*s, "gone", "t", 0, 3, "", 4);
    REQUIRE(s->compact());
  }
  auto s = open_store(dir);
  CHECK(s->fetch_group("gone").size() == 1);
  CHECK(s->fetch("gone", "t", 0)->next_offset == offset(3));
  CHECK(s->groups() == std::vector<std::string>{"gone", "stay"});
}

TEST_CASE("an invalid commit is rejected whole") {
  temp_dir dir;
  offset_store_config cfg;
  cfg.max_metadata_bytes = 4;
  auto s = open_store(dir, cfg);
  std::vector<offset_commit> bad_partition{{"t", 0, offset(1), ""}, {"t", -1, offset(1), ""}};
  CHECK(s->commit("g", bad_partition, timestamp_ms(1)).error() == errc::invalid_argument);
  std::vector<offset_commit> bad_offset{{"t", 0, offset(-1), ""}};
  CHECK(s->commit("g", bad_offset, timestamp_ms(1)).error() == errc::invalid_argument);
  std::vector<offset_commit> long_meta{{"t", 0, offset(1), "12345"}};
  CHECK(s->commit("g", long_meta, timestamp_ms(1)).error() == errc::invalid_argument);
  std::vector<offset_commit> no_topic{{"", 0, offset(1), ""}};
  CHECK(s->commit("g", no_topic, timestamp_ms(1)).error() == errc::invalid_argument);
  std::vector<offset_commit> fine{{"t", 0, offset(1), "1234"}};
  CHECK(s->commit("", fine, timestamp_ms(1)).error() == errc::invalid_argument);
  CHECK(s->pending_records() == 0);
  CHECK_FALSE(s->fetch("g", "t", 0));
  CHECK(s->groups().empty());
}

TEST_CASE("a leftover compaction snapshot is removed on open and reported") {
  temp_dir dir;
  {
    auto s = open_store(dir);
    commit_one(*s, "g", "t", 0, 10, "", 1);
  }
  {
    std::ofstream tmp(dir.path() / "offsets.log.tmp", std::ios::binary);
    tmp << "half a snapshot";
  }
  recovery_report report;
  auto s = open_store(dir, {}, &report);
  REQUIRE(report.events.size() == 1);
  CHECK(report.events[0].what == recovery_event::kind::removed_stray_file);
  CHECK(report.events[0].dropped_bytes == 15);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "offsets.log.tmp"));
  CHECK(s->fetch("g", "t", 0)->next_offset == offset(10));
}
