#include "storage/offset_index.h"

#include <catch2/catch.hpp>

#include "storage/errc.h"
#include "storage/log_test_util.h"
#include "storage/record_batch.h"
#include "storage/time_index.h"
#include "support/temp_dir.h"

using namespace actormq::storage;
using namespace actormq::storage::test;
using actormq::test::temp_dir;

namespace {
relative_offset rel(uint32_t v) {
  return relative_offset(v);
}
file_position pos(uint64_t v) {
  return file_position(v);
}

offset_index three_entry_index(const fs::path& dir) {
  offset_index idx(dir / "00000000000000000000.index");
  idx.add(rel(0), pos(0));
  idx.add(rel(10), pos(100));
  idx.add(rel(20), pos(250));
  return idx;
}
}  // namespace

TEST_CASE("offset index lookup returns the greatest entry at or below the target") {
  temp_dir dir;
  auto idx = three_entry_index(dir.path());
  struct want {
    uint32_t target, rel;
    uint64_t pos;
  };
  for (auto w : {want{0, 0, 0}, want{1, 0, 0}, want{9, 0, 0}, want{10, 10, 100}, want{19, 10, 100},
                 want{20, 20, 250}, want{21, 20, 250}, want{UINT32_MAX, 20, 250}}) {
    INFO("target " << w.target);
    auto e = idx.lookup(rel(w.target));
    REQUIRE(e);
    CHECK(e->rel == rel(w.rel));
    CHECK(e->pos == pos(w.pos));
  }
}

TEST_CASE("offset index lookup below the first entry or in an empty index finds nothing") {
  temp_dir dir;
  offset_index empty(dir.path() / "e.index");
  CHECK_FALSE(empty.lookup(rel(0)));
  CHECK_FALSE(empty.lookup(rel(1000)));

  offset_index idx(dir.path() / "x.index");
  idx.add(rel(5), pos(40));
  CHECK_FALSE(idx.lookup(rel(4)));
  REQUIRE(idx.lookup(rel(5)));
  CHECK(idx.lookup(rel(5))->pos == pos(40));
}

TEST_CASE("offset index position lookup returns the greatest entry at or below a position") {
  temp_dir dir;
  auto idx = three_entry_index(dir.path());
  CHECK(idx.lookup_position(pos(0))->rel == rel(0));
  CHECK(idx.lookup_position(pos(99))->rel == rel(0));
  CHECK(idx.lookup_position(pos(100))->rel == rel(10));
  CHECK(idx.lookup_position(pos(10'000))->rel == rel(20));
}

TEST_CASE("offset index ignores an entry that does not grow in both fields") {
  temp_dir dir;
  auto idx = three_entry_index(dir.path());
  idx.add(rel(20), pos(300));  // same offset
  idx.add(rel(30), pos(250));  // same position
  idx.add(rel(15), pos(400));  // offset goes back
  REQUIRE(idx.entries().size() == 3);
  idx.add(rel(30), pos(400));
  REQUIRE(idx.entries().size() == 4);
  CHECK(idx.entries().back().rel == rel(30));
  CHECK(idx.entries().back().pos == pos(400));
}

TEST_CASE("offset index truncate drops entries at or above the target") {
  temp_dir dir;
  auto idx = three_entry_index(dir.path());
  idx.truncate(rel(11));
  REQUIRE(idx.entries().size() == 2);
  CHECK(idx.entries().back().rel == rel(10));
  idx.truncate(rel(10));
  REQUIRE(idx.entries().size() == 1);
  CHECK(idx.lookup(rel(15))->rel == rel(0));
}

TEST_CASE("offset index file holds little-endian relative offset and position pairs") {
  temp_dir dir;
  auto idx = three_entry_index(dir.path());
  REQUIRE(idx.flush());
  auto bytes = read_whole(idx.path());
  REQUIRE(bytes.size() == 3 * offset_index::entry_size);
  auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  CHECK(load_le<uint32_t>(p + 0) == 0u);
  CHECK(load_le<uint32_t>(p + 4) == 0u);
  CHECK(load_le<uint32_t>(p + 8) == 10u);
  CHECK(load_le<uint32_t>(p + 12) == 100u);
  CHECK(load_le<uint32_t>(p + 16) == 20u);
  CHECK(load_le<uint32_t>(p + 20) == 250u);

  offset_index back(idx.path());
  REQUIRE(back.load(1000));
  REQUIRE(back.entries().size() == 3);
  CHECK(back.entries()[2].rel == rel(20));
  CHECK(back.entries()[2].pos == pos(250));
  CHECK(back.lookup(rel(12))->pos == pos(100));
}

TEST_CASE("offset index flush after truncate rewrites the file") {
  temp_dir dir;
  auto idx = three_entry_index(dir.path());
  REQUIRE(idx.flush());
  idx.truncate(rel(10));
  idx.add(rel(12), pos(130));
  REQUIRE(idx.flush());
  auto bytes = read_whole(idx.path());
  REQUIRE(bytes.size() == 2 * offset_index::entry_size);
  auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  CHECK(load_le<uint32_t>(p + 8) == 12u);
  CHECK(load_le<uint32_t>(p + 12) == 130u);
  // Appending after a flush writes only the new entry at the end.
  idx.add(rel(40), pos(900));
  REQUIRE(idx.flush());
  bytes = read_whole(idx.path());
  REQUIRE(bytes.size() == 3 * offset_index::entry_size);
  CHECK(load_le<uint32_t>(reinterpret_cast<const uint8_t*>(bytes.data()) + 16) == 40u);
}

TEST_CASE("offset index load refuses a torn or unordered or out of range file") {
  temp_dir dir;
  auto path = dir.path() / "00000000000000000000.index";
  offset_index idx(path);
  CHECK(idx.load(100).error() == errc::not_found);

  auto entry = [](uint32_t r, uint32_t p) {
    std::string s(8, '\0');
    store_le<uint32_t>(reinterpret_cast<uint8_t*>(s.data()), r);
    store_le<uint32_t>(reinterpret_cast<uint8_t*>(s.data()) + 4, p);
    return s;
  };
  write_whole(path, entry(0, 0) + entry(5, 50) + "xyz");
  CHECK(idx.load(100).error() == errc::corrupt_segment);
  CHECK(idx.entries().empty());

  write_whole(path, entry(0, 0) + entry(5, 50) + entry(4, 60));
  CHECK(idx.load(100).error() == errc::corrupt_segment);
  CHECK(idx.entries().empty());

  write_whole(path, entry(0, 0) + entry(5, 50));
  CHECK(idx.load(50).error() == errc::corrupt_segment);
  REQUIRE(idx.load(51));
  CHECK(idx.entries().size() == 2);
}

TEST_CASE("time index lookup returns the greatest entry strictly before the target") {
  temp_dir dir;
  time_index idx(dir.path() / "00000000000000000000.timeindex");
  idx.add(timestamp_ms(100), rel(0));
  idx.add(timestamp_ms(200), rel(5));
  idx.add(timestamp_ms(300), rel(9));
  CHECK_FALSE(idx.lookup_before(timestamp_ms(50)));
  CHECK_FALSE(idx.lookup_before(timestamp_ms(100)));
  struct want {
    int64_t target, ts;
    uint32_t rel;
  };
  for (auto w : {want{101, 100, 0}, want{200, 100, 0}, want{201, 200, 5}, want{300, 200, 5},
                 want{301, 300, 9}, want{1'000'000, 300, 9}}) {
    INFO("target " << w.target);
    auto e = idx.lookup_before(timestamp_ms(w.target));
    REQUIRE(e);
    CHECK(e->ts == timestamp_ms(w.ts));
    CHECK(e->rel == rel(w.rel));
  }
}

TEST_CASE("time index ignores an entry whose timestamp does not grow") {
  temp_dir dir;
  time_index idx(dir.path() / "t.timeindex");
  idx.add(timestamp_ms(100), rel(0));
  idx.add(timestamp_ms(100), rel(3));
  idx.add(timestamp_ms(90), rel(4));
  idx.add(timestamp_ms(150), rel(0));
  REQUIRE(idx.entries().size() == 1);
  idx.add(timestamp_ms(150), rel(6));
  REQUIRE(idx.entries().size() == 2);
  idx.truncate(rel(6));
  REQUIRE(idx.entries().size() == 1);
  CHECK(idx.entries().back().ts == timestamp_ms(100));
}

TEST_CASE("time index file holds little-endian timestamp and relative offset pairs") {
  temp_dir dir;
  auto path = dir.path() / "00000000000000000000.timeindex";
  time_index idx(path);
  idx.add(timestamp_ms(1'700'000'000'000), rel(0));
  idx.add(timestamp_ms(1'700'000'000'500), rel(7));
  REQUIRE(idx.flush());
  auto bytes = read_whole(path);
  REQUIRE(bytes.size() == 2 * time_index::entry_size);
  auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  CHECK(load_le<int64_t>(p) == 1'700'000'000'000);
  CHECK(load_le<uint32_t>(p + 8) == 0u);
  CHECK(load_le<int64_t>(p + 12) == 1'700'000'000'500);
  CHECK(load_le<uint32_t>(p + 20) == 7u);

  time_index back(path);
  REQUIRE(back.load());
  REQUIRE(back.entries().size() == 2);
  CHECK(back.lookup_before(timestamp_ms(1'700'000'000'501))->rel == rel(7));

  write_whole(path, bytes + "x");
  CHECK(back.load().error() == errc::corrupt_segment);
  write_whole(path, bytes.substr(12) + bytes.substr(0, 12));
  CHECK(back.load().error() == errc::corrupt_segment);
}
