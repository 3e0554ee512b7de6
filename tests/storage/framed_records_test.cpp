#include "storage/framed_records.h"

#include <catch2/catch.hpp>
#include <cerrno>
#include <fstream>
#include <string>
#include <vector>

#include "storage/fault_injector.h"
#include "storage/log_test_util.h"
#include "support/temp_dir.h"

using namespace actormq::storage;
using actormq::storage::test::armed;
using actormq::test::temp_dir;

namespace {

/// Three records with bodies "first", "second!", "third".
std::vector<uint8_t> three_framed_records() {
  std::vector<uint8_t> out;
  for (std::string_view body : {"first", "second!", "third"}) {
    framed_records::append(out, [&](byte_writer& w) { w.put_bytes(body); });
  }
  return out;
}

/// The bodies walk() hands over, and where it stopped.
struct walked {
  std::vector<std::string> bodies;
  std::vector<size_t> sizes;
  framed_records::walk_result result;
};

/// Writes the three records and then `tail` to path (a crash in the middle
/// of an append leaves such a tail); returns the good records' size.
size_t write_with_tail(const std::filesystem::path& path, std::string_view tail) {
  auto good = three_framed_records();
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(good.data()), static_cast<std::streamsize>(good.size()));
  f.write(tail.data(), static_cast<std::streamsize>(tail.size()));
  return good.size();
}

walked walk_all(std::span<const uint8_t> bytes, size_t min_body = 1, size_t max_body = 100,
                const std::string& refuse = "") {
  walked out;
  out.result = framed_records::walk(bytes, min_body, max_body,
                                    [&](std::span<const uint8_t> body, size_t record_bytes) {
                                      std::string s(body.begin(), body.end());
                                      if (s == refuse) return false;
                                      out.bodies.push_back(s);
                                      out.sizes.push_back(record_bytes);
                                      return true;
                                    });
  return out;
}

}  // namespace

TEST_CASE("framed records are walked back in order with their sizes", "[storage][framed]") {
  auto bytes = three_framed_records();
  auto w = walk_all(bytes);
  CHECK(w.bodies == std::vector<std::string>{"first", "second!", "third"});
  CHECK(w.sizes == std::vector<size_t>{8 + 5, 8 + 7, 8 + 5});
  CHECK(w.result.valid_bytes == bytes.size());
  CHECK(w.result.problem.empty());
}

TEST_CASE("a walk stops at a torn record header and keeps what is before it", "[storage][framed]") {
  auto bytes = three_framed_records();
  const size_t whole = bytes.size();
  bytes.resize(whole - 5 - 8 + 3);  // the third record's header cut after 3 bytes
  auto w = walk_all(bytes);
  CHECK(w.bodies.size() == 2);
  CHECK(w.result.valid_bytes == 13 + 15);
  CHECK(w.result.problem.find("torn record header") != std::string::npos);
}

TEST_CASE("a walk stops at a record shorter than its length", "[storage][framed]") {
  auto bytes = three_framed_records();
  bytes.pop_back();  // the third body loses its last byte
  auto w = walk_all(bytes);
  CHECK(w.bodies.size() == 2);
  CHECK(w.result.valid_bytes == 13 + 15);
  CHECK(w.result.problem.find("torn record:") != std::string::npos);
}

TEST_CASE("a walk stops at a length out of the file's bounds", "[storage][framed]") {
  auto bytes = three_framed_records();
  auto w = walk_all(bytes, 1, 6);  // "second!" is 7 bytes: too long for this file
  CHECK(w.bodies == std::vector<std::string>{"first"});
  CHECK(w.result.valid_bytes == 13);
  CHECK(w.result.problem.find("bad record length 7") != std::string::npos);
  auto short_ok = walk_all(bytes, 6, 100);  // "first" is 5: too short
  CHECK(short_ok.bodies.empty());
  CHECK(short_ok.result.valid_bytes == 0);
}

TEST_CASE("a walk stops at a CRC mismatch, a flipped length included", "[storage][framed]") {
  auto body_flip = three_framed_records();
  body_flip[13 + 8 + 2] ^= 0x01;  // a byte of "second!"
  auto w = walk_all(body_flip);
  CHECK(w.bodies == std::vector<std::string>{"first"});
  CHECK(w.result.problem.find("CRC mismatch") != std::string::npos);

  auto length_flip = three_framed_records();
  length_flip[13 + 4] = 6;  // "second!" claims 6 bytes: the CRC covers the length
  auto l = walk_all(length_flip);
  CHECK(l.bodies == std::vector<std::string>{"first"});
  CHECK(l.result.valid_bytes == 13);
  CHECK(l.result.problem.find("CRC mismatch") != std::string::npos);
}

TEST_CASE("a walk stops at a body its file cannot parse", "[storage][framed]") {
  auto bytes = three_framed_records();
  auto w = walk_all(bytes, 1, 100, "second!");
  CHECK(w.bodies == std::vector<std::string>{"first"});
  CHECK(w.result.valid_bytes == 13);
  CHECK(w.result.problem.find("malformed record body") != std::string::npos);
}

TEST_CASE("recovery removes an unfinished snapshot, cuts a torn tail on disk and reports both",
          "[storage][framed]") {
  temp_dir dir;
  const auto path = dir.path() / "records.log";
  auto good = three_framed_records();
  {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(good.data()), static_cast<std::streamsize>(good.size()));
    f.write("torn", 4);  // a crash in the middle of an append
    std::ofstream tmp(dir.path() / "records.log.tmp", std::ios::binary);
    tmp << "half a snapshot";
  }
  recovery_report report;
  std::vector<uint8_t> bytes;
  auto f = framed_records::open_for_recovery(path, "test", report, bytes);
  REQUIRE(f);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "records.log.tmp"));
  CHECK(bytes.size() == good.size() + 4);
  auto w = walk_all(bytes);
  CHECK(w.bodies.size() == 3);
  REQUIRE(framed_records::cut_tail(**f, w.result, bytes.size(), "test", report));
  CHECK(std::filesystem::file_size(path) == good.size());
  REQUIRE(report.events.size() == 2);
  CHECK(report.events[0].what == recovery_event::kind::removed_stray_file);
  CHECK(report.events[0].dropped_bytes == 15);
  CHECK(report.events[1].what == recovery_event::kind::truncated_tail);
  CHECK(report.events[1].dropped_bytes == 4);
  CHECK(report.dropped_bytes() == 19);
}

TEST_CASE("recovery of a file that does not exist yet creates it empty", "[storage][framed]") {
  temp_dir dir;
  recovery_report report;
  std::vector<uint8_t> bytes{1, 2, 3};
  auto f = framed_records::open_for_recovery(dir.path() / "new.log", "test", report, bytes);
  REQUIRE(f);
  CHECK(bytes.empty());
  CHECK(std::filesystem::exists(dir.path() / "new.log"));
  auto w = walk_all(bytes);
  REQUIRE(framed_records::cut_tail(**f, w.result, bytes.size(), "test", report));
  CHECK(report.events.empty());
}

TEST_CASE("a cut of a torn tail that the disk fails is returned, reported only if it was made",
          "[storage][framed]") {
  temp_dir dir;
  const auto path = dir.path() / "records.log";
  const size_t good = write_with_tail(path, "torn");
  recovery_report report;
  std::vector<uint8_t> bytes;
  auto f = framed_records::open_for_recovery(path, "test", report, bytes);
  REQUIRE(f);
  auto w = walk_all(bytes);

  SECTION("the truncate fails: the file and the report are as they were") {
    {
      armed faults{test::rule(fault_op::truncate, EIO, path)};
      auto st = framed_records::cut_tail(**f, w.result, bytes.size(), "test", report);
      REQUIRE_FALSE(st);
      CHECK(st.error() == std::error_code(EIO, std::system_category()));
    }
    CHECK(report.events.empty());
    CHECK(std::filesystem::file_size(path) == good + 4);
    // The next recovery cuts it.
    REQUIRE(framed_records::cut_tail(**f, w.result, bytes.size(), "test", report));
    CHECK(std::filesystem::file_size(path) == good);
    REQUIRE(report.events.size() == 1);
    CHECK(report.events[0].dropped_bytes == 4);
  }
  SECTION("the sync fails: the cut is reported, the bytes being gone from the file") {
    armed faults{test::rule(fault_op::sync, EIO, path)};
    auto st = framed_records::cut_tail(**f, w.result, bytes.size(), "test", report);
    REQUIRE_FALSE(st);
    CHECK(st.error() == std::error_code(EIO, std::system_category()));
    CHECK(std::filesystem::file_size(path) == good);
    REQUIRE(report.events.size() == 1);
    CHECK(report.events[0].what == recovery_event::kind::truncated_tail);
    CHECK(report.events[0].dropped_bytes == 4);
  }
}
