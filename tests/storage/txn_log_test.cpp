#include "storage/txn_log.h"

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

std::unique_ptr<txn_log> open_log(const temp_dir& dir, txn_log_config cfg = {},
                                  recovery_report* report = nullptr) {
  auto l = txn_log::open(dir.path(), cfg, report);
  REQUIRE(l);
  return std::move(l).value();
}

txn_half half_of(const std::string& batch, const std::string& topic = "orders") {
  return {"producers", topic, 2, 0, 5000, batch};
}

txn_id add_half(txn_log& l, const std::string& batch, int64_t now) {
  auto id = l.append_half(half_of(batch), timestamp_ms(now));
  REQUIRE(id);
  return *id;
}

uint64_t size_on_disk(const temp_dir& dir) {
  return std::filesystem::file_size(dir.path() / "txn.log");
}

}  // namespace

TEST_CASE("txn log replays half messages decisions and checks after reopen") {
  temp_dir dir;
  txn_id a{0}, b{0}, c{0};
  {
    auto l = open_log(dir);
    a = add_half(*l, "batch-a", 1000);
    b = add_half(*l, "batch-b", 1001);
    c = add_half(*l, "batch-c", 1002);
    REQUIRE(l->append_check(a, 1, timestamp_ms(40000), timestamp_ms(7000)));
    REQUIRE(l->append_decision(b, txn_decision::commit, timestamp_ms(1500)));
    REQUIRE(l->append_decision(c, txn_decision::rollback, timestamp_ms(1600)));
    REQUIRE(l->flush());
  }
  auto l = open_log(dir);
  REQUIRE(l->find(a));
  CHECK(l->find(a)->half.batch == "batch-a");
  CHECK(l->find(a)->half.delay_ms == 5000);
  CHECK(l->find(a)->created == timestamp_ms(1000));
  CHECK(l->find(a)->checks == 1);
  CHECK(l->find(a)->next_check == timestamp_ms(40000));
  CHECK(l->find(a)->decision == txn_decision::none);
  REQUIRE(l->find(b));
  CHECK(l->find(b)->decision == txn_decision::commit);
  CHECK_FALSE(l->find(b)->applied);
  CHECK(l->find(b)->half.batch == "batch-b");  // still to be delivered
  REQUIRE(l->find(c));
  CHECK(l->find(c)->decision == txn_decision::rollback);
  CHECK(l->find(c)->half.batch.empty());
  CHECK(l->unfinished() == 2);
  CHECK(l->next_id() == txn_id(c() + 1));
}

TEST_CASE("txn log never hands out an id twice across reopen") {
  temp_dir dir;
  txn_id first{0};
  {
    auto l = open_log(dir);
    first = add_half(*l, "x", 1);
    REQUIRE(l->flush());
  }
  auto l = open_log(dir);
  CHECK(add_half(*l, "y", 2) > first);
}

TEST_CASE("txn log refuses a second decision for one transaction") {
  temp_dir dir;
  auto l = open_log(dir);
  auto id = add_half(*l, "x", 1);
  REQUIRE(l->append_decision(id, txn_decision::rollback, timestamp_ms(2)));
  CHECK_FALSE(l->append_decision(id, txn_decision::commit, timestamp_ms(3)));
  CHECK(l->find(id)->decision == txn_decision::rollback);
}

TEST_CASE("txn log refuses records for an unknown id") {
  temp_dir dir;
  auto l = open_log(dir);
  CHECK_FALSE(l->append_decision(txn_id(77), txn_decision::commit, timestamp_ms(1)));
  CHECK_FALSE(l->append_check(txn_id(77), 1, timestamp_ms(5), timestamp_ms(1)));
  CHECK_FALSE(l->append_applied(txn_id(77), timestamp_ms(1)));
}

TEST_CASE("txn log refuses an empty group or topic") {
  temp_dir dir;
  auto l = open_log(dir);
  CHECK_FALSE(l->append_half({"", "t", 0, 0, 0, "b"}, timestamp_ms(1)));
  CHECK_FALSE(l->append_half({"g", "", 0, 0, 0, "b"}, timestamp_ms(1)));
}

TEST_CASE("txn log drops the batch once a commit is applied") {
  temp_dir dir;
  auto l = open_log(dir);
  auto id = add_half(*l, "payload", 1);
  REQUIRE(l->append_decision(id, txn_decision::commit, timestamp_ms(2)));
  REQUIRE(l->append_applied(id, timestamp_ms(3)));
  CHECK(l->find(id)->finished());
  CHECK(l->find(id)->half.batch.empty());
  CHECK(l->unfinished() == 0);
}

TEST_CASE("txn log forgets the oldest finished transactions beyond keep_finished") {
  temp_dir dir;
  txn_log_config cfg;
  cfg.keep_finished = 2;
  auto l = open_log(dir, cfg);
  std::vector<txn_id> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(add_half(*l, "b", i));
    REQUIRE(l->append_decision(ids.back(), txn_decision::rollback, timestamp_ms(i)));
  }
  CHECK_FALSE(l->find(ids[0]));
  CHECK_FALSE(l->find(ids[1]));
  CHECK(l->find(ids[2]));
  CHECK(l->find(ids[3]));
}

TEST_CASE("txn log cuts a torn trailing record and reports it") {
  temp_dir dir;
  txn_id a{0};
  {
    auto l = open_log(dir);
    a = add_half(*l, "kept", 1);
    REQUIRE(l->flush());
    add_half(*l, std::string(100, 'z'), 2);
    REQUIRE(l->flush());
  }
  auto full = size_on_disk(dir);
  std::filesystem::resize_file(dir.path() / "txn.log", full - 10);
  recovery_report report;
  auto l = open_log(dir, {}, &report);
  REQUIRE(report.events.size() == 1);
  CHECK(report.events[0].what == recovery_event::kind::truncated_tail);
  CHECK(report.events[0].dropped_bytes > 0);
  CHECK(l->records().size() == 1);
  CHECK(l->find(a));
  CHECK(size_on_disk(dir) == full - 10 - report.events[0].dropped_bytes);
}

TEST_CASE(
    "a txn log recovery whose cut cannot be synced fails the open, reports the cut, and "
    "a later open keeps every whole record") {
  temp_dir dir;
  txn_id a{0};
  {
    auto l = open_log(dir);
    a = add_half(*l, "kept", 1);
    REQUIRE(l->flush());
  }
  const auto good_size = size_on_disk(dir);
  {
    std::ofstream f(dir.path() / "txn.log", std::ios::binary | std::ios::app);
    f << "torn!";
  }
  {
    armed faults{test::rule(fault_op::sync, EIO, dir.path() / "txn.log")};
    recovery_report report;
    auto failed = txn_log::open(dir.path(), {}, &report);
    REQUIRE_FALSE(failed);
    CHECK(failed.error() == std::error_code(EIO, std::system_category()));
    // The torn bytes are gone from the file: the failed open still says so.
    REQUIRE(report.events.size() == 1);
    CHECK(report.events[0].what == recovery_event::kind::truncated_tail);
    CHECK(report.events[0].dropped_bytes == 5);
  }
  recovery_report report;
  auto l = open_log(dir, {}, &report);
  CHECK(report.events.empty());
  CHECK(size_on_disk(dir) == good_size);
  REQUIRE(l->records().size() == 1);
  CHECK(l->find(a));
}

TEST_CASE("txn log cuts at a record whose checksum does not match") {
  temp_dir dir;
  {
    auto l = open_log(dir);
    add_half(*l, "first", 1);
    REQUIRE(l->flush());
  }
  auto first_size = size_on_disk(dir);
  {
    auto l = open_log(dir);
    add_half(*l, "second", 2);
    REQUIRE(l->flush());
  }
  {
    std::fstream f(dir.path() / "txn.log", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(first_size + 20));
    f.put('\x7f');
  }
  recovery_report report;
  auto l = open_log(dir, {}, &report);
  REQUIRE(report.events.size() == 1);
  CHECK(size_on_disk(dir) == first_size);
  CHECK(l->records().size() == 1);
}

TEST_CASE("txn log removes an unfinished snapshot on open") {
  temp_dir dir;
  { auto l = open_log(dir); }
  {
    std::ofstream tmp(dir.path() / "txn.log.tmp");
    tmp << "partial";
  }
  recovery_report report;
  auto l = open_log(dir, {}, &report);
  REQUIRE(report.events.size() == 1);
  CHECK(report.events[0].what == recovery_event::kind::removed_stray_file);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "txn.log.tmp"));
}

TEST_CASE("txn log compaction keeps open transactions and the id floor") {
  temp_dir dir;
  txn_log_config cfg;
  cfg.min_compaction_bytes = 4096;
  cfg.keep_finished = 1;
  txn_id open_id{0}, last{0};
  {
    auto l = open_log(dir, cfg);
    open_id = add_half(*l, "still-open", 1);
    REQUIRE(l->append_check(open_id, 3, timestamp_ms(99), timestamp_ms(5)));
    for (int i = 0; i < 100; ++i) {
      last = add_half(*l, std::string(200, 'x'), 10 + i);
      REQUIRE(l->append_decision(last, txn_decision::commit, timestamp_ms(10 + i)));
      REQUIRE(l->append_applied(last, timestamp_ms(10 + i)));
      REQUIRE(l->flush());
    }
    CHECK(size_on_disk(dir) < 8192);  // 100 records of ~300 bytes: compacted
  }
  auto l = open_log(dir, cfg);
  REQUIRE(l->find(open_id));
  CHECK(l->find(open_id)->half.batch == "still-open");
  CHECK(l->find(open_id)->checks == 3);
  CHECK(l->find(open_id)->next_check == timestamp_ms(99));
  REQUIRE(l->find(last));
  CHECK(l->find(last)->decision == txn_decision::commit);
  CHECK(l->find(last)->applied);
  CHECK(l->next_id() == txn_id(last() + 1));
}
