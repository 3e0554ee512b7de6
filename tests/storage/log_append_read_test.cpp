// Appending and reading back: offsets, contents, slices, invalid input.

#include <catch2/catch.hpp>
#include <map>

#include "storage/log.h"
#include "storage/log_test_util.h"
#include "support/temp_dir.h"

using namespace actormq::storage;
using namespace actormq::storage::test;
using actormq::test::temp_dir;

namespace {

/// Appends `batches` batches of 1..5 records; returns the expected records.
std::vector<rec> fill(partition_log& l, manual_clock& clock, int batches, size_t value_bytes = 20) {
  std::vector<rec> want;
  for (int b = 0; b < batches; ++b) {
    int n = 1 + b % 5;
    std::string tag = "b" + std::to_string(b);
    auto r = append_copy(l, numbered_batch(tag, n, clock.now(), value_bytes));
    REQUIRE(r);
    for (int i = 0; i < n; ++i) {
      std::string v = tag + "-v" + std::to_string(i);
      if (v.size() < value_bytes) v.append(value_bytes - v.size(), '.');
      want.push_back({r->base_offset + i, tag + "-k" + std::to_string(i), v, clock.now()});
    }
    clock.advance(1);
  }
  return want;
}

}  // namespace

TEST_CASE("appended records read back with their keys values and offsets across many segments") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 512));
  auto want = fill(*l, clock, 120);
  REQUIRE(want.size() == 360);
  CHECK(l->next_offset() == offset(360));
  CHECK(l->log_start_offset() == offset(0));
  CHECK(l->segment_count() > 10);

  // Segments chain: each starts where the previous ends; none above the limit
  // (every batch here is smaller than a segment).
  offset expect(0);
  uint64_t total = 0;
  for (const auto& s : l->segments()) {
    CHECK(s->base_offset() == expect);
    CHECK(s->size_bytes() <= 512);
    CHECK(fs::file_size(s->path()) == s->size_bytes());
    expect = s->next_offset();
    total += s->size_bytes();
  }
  CHECK(expect == offset(360));
  CHECK(l->size_bytes() == total);

  CHECK(read_all(*l, offset(0)) == want);
  CHECK(read_all(*l, offset(0), 1) == want);  // one batch per slice
  CHECK(read_all(*l, offset(0), 300) == want);
}

TEST_CASE("append returns consecutive offsets and writes them into the batch") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock));
  auto b1 = numbered_batch("a", 3, clock.now());
  auto r1 = l->append(mut_span(b1));
  REQUIRE(r1);
  CHECK(r1->base_offset == offset(0));
  CHECK(r1->last_offset == offset(2));
  CHECK(r1->batches == 1);
  CHECK(decode_header(const_span(b1)).base_offset == offset(0));
  auto b2 = numbered_batch("b", 2, clock.now());
  auto r2 = l->append(mut_span(b2));
  REQUIRE(r2);
  CHECK(r2->base_offset == offset(3));
  CHECK(r2->last_offset == offset(4));
  CHECK(decode_header(const_span(b2)).base_offset == offset(3));
  // The stored bytes are the appended bytes, base offset included.
  auto s = l->read(offset(3), 1 << 20);
  REQUIRE(s);
  CHECK(slice_bytes(*s) == b2);
}

TEST_CASE("a read from every offset starts at the batch holding that offset") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 700));
  auto want = fill(*l, clock, 60);
  std::map<int64_t, std::pair<offset, offset>> batch_of;  // offset -> [base, next)
  for (const auto& seg : l->segments()) {
    read_slice whole{seg->file(), file_position(0), seg->size_bytes(), seg->base_offset(),
                     seg->next_offset()};
    auto bytes = slice_bytes(whole);
    for_each_batch(const_span(bytes), [&](const batch_header& h, std::span<const uint8_t>) {
      for (auto o = h.base_offset; o < h.next_offset(); o += 1) {
        batch_of[o()] = {h.base_offset, h.next_offset()};
      }
    });
  }
  REQUIRE(batch_of.size() == want.size());
  for (const auto& r : want) {
    INFO("offset " << r.off);
    auto s = l->read(r.off, 1);
    REQUIRE(s);
    auto [base, next] = batch_of.at(r.off());
    CHECK(s->first_offset == base);
    CHECK(s->next_offset == next);
    CHECK(s->first_offset <= r.off);
    CHECK(r.off < s->next_offset);
    auto rs = records_of(slice_bytes(*s));
    REQUIRE(!rs.empty());
    CHECK(rs.front().off == base);
    auto it = std::find_if(rs.begin(), rs.end(), [&](const rec& x) { return x.off == r.off; });
    REQUIRE(it != rs.end());
    CHECK(*it == r);
  }
}

TEST_CASE("a read returns whole batches up to max bytes and at least one batch") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 1 << 20));
  std::vector<size_t> sizes;
  for (int i = 0; i < 5; ++i) {
    auto b = numbered_batch("m" + std::to_string(i), 2, clock.now(), 50);
    sizes.push_back(b.size());
    REQUIRE(append_copy(*l, b));
  }
  auto s = l->read(offset(0), sizes[0] + sizes[1] + sizes[2] - 1);
  REQUIRE(s);
  CHECK(s->length == sizes[0] + sizes[1]);
  CHECK(s->first_offset == offset(0));
  CHECK(s->next_offset == offset(4));
  auto one = l->read(offset(3), 1);
  REQUIRE(one);
  CHECK(one->length == sizes[1]);
  CHECK(one->first_offset == offset(2));
  CHECK(one->next_offset == offset(4));
}

TEST_CASE("a read below the log start or above the log end is out of range") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock));
  fill(*l, clock, 3);  // offsets 0..5
  CHECK(l->read(offset(-1), 100).error() == errc::offset_out_of_range);
  CHECK(l->read(offset(7), 100).error() == errc::offset_out_of_range);
  auto at_end = l->read(offset(6), 100);
  REQUIRE(at_end);
  CHECK(at_end->length == 0);
  CHECK(at_end->first_offset == offset(6));
  CHECK(at_end->next_offset == offset(6));
}

TEST_CASE("a new log is one empty segment that reads nothing and reopens empty") {
  temp_dir dir;
  manual_clock clock;
  {
    auto l = open_log(dir.path(), small_config(clock));
    CHECK(l->segment_count() == 1);
    CHECK(l->log_start_offset() == offset(0));
    CHECK(l->next_offset() == offset(0));
    CHECK(l->size_bytes() == 0);
    auto s = l->read(offset(0), 100);
    REQUIRE(s);
    CHECK(s->length == 0);
    CHECK(l->read(offset(1), 100).error() == errc::offset_out_of_range);
    auto t = l->offset_for_timestamp(timestamp_ms(0));
    REQUIRE(t);
    CHECK(*t == offset(0));
    CHECK(l->roll());  // no-op on an empty segment
    CHECK(l->segment_count() == 1);
    REQUIRE(l->close());
  }
  CHECK(fs::exists(seg_path(dir.path(), offset(0), "log")));
  CHECK(fs::exists(seg_path(dir.path(), offset(0), "index")));
  CHECK(fs::exists(seg_path(dir.path(), offset(0), "timeindex")));
  CHECK(fs::exists(dir.path() / ".clean_shutdown"));
  recovery_report report;
  auto l = open_log(dir.path(), small_config(clock), &report);
  CHECK(report.clean_shutdown);
  CHECK(report.events.empty());
  CHECK_FALSE(fs::exists(dir.path() / ".clean_shutdown"));
  CHECK(l->segment_count() == 1);
  CHECK(l->next_offset() == offset(0));
  auto r = append_copy(*l, numbered_batch("x", 2, clock.now()));
  REQUIRE(r);
  CHECK(r->base_offset == offset(0));
  CHECK(read_all(*l, offset(0)).size() == 2);
}

TEST_CASE("reopen after a clean close keeps every offset and byte") {
  temp_dir dir;
  manual_clock clock;
  auto cfg = small_config(clock, 600);
  std::vector<rec> want;
  std::vector<std::string> seg_bytes;
  std::vector<std::pair<offset, offset>> ranges;
  {
    auto l = open_log(dir.path(), cfg);
    want = fill(*l, clock, 50);
    for (const auto& s : l->segments()) {
      seg_bytes.push_back(read_whole(s->path()));
      ranges.emplace_back(s->base_offset(), s->next_offset());
    }
    REQUIRE(l->close());
    CHECK(l->close().error() == errc::log_closed);
    CHECK(append_copy(*l, numbered_batch("late", 1, clock.now())).error() == errc::log_closed);
  }
  recovery_report report;
  auto l = open_log(dir.path(), cfg, &report);
  CHECK(report.clean_shutdown);
  CHECK(report.events.empty());
  CHECK(report.dropped_bytes() == 0);
  REQUIRE(l->segment_count() == seg_bytes.size());
  for (size_t i = 0; i < seg_bytes.size(); ++i) {
    const auto& s = l->segments()[i];
    CHECK(read_whole(s->path()) == seg_bytes[i]);
    CHECK(s->base_offset() == ranges[i].first);
    CHECK(s->next_offset() == ranges[i].second);
  }
  CHECK(l->next_offset() == want.back().off + 1);
  CHECK(read_all(*l, offset(0)) == want);
  auto r = append_copy(*l, numbered_batch("after", 1, clock.now()));
  REQUIRE(r);
  CHECK(r->base_offset == want.back().off + 1);
}

TEST_CASE("an appended batch with a bad crc is refused and the log is unchanged") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock));
  auto want = fill(*l, clock, 3);
  auto before = read_whole(l->segments().back()->path());
  auto bad = numbered_batch("bad", 2, clock.now());
  bad[bad.size() - 1] ^= 0x01;
  CHECK(l->append(mut_span(bad)).error() == errc::crc_mismatch);
  CHECK(l->next_offset() == offset(6));
  CHECK(read_whole(l->segments().back()->path()) == before);
  CHECK(read_all(*l, offset(0)) == want);
}

TEST_CASE("an appended batch above max batch bytes is refused with batch too large") {
  temp_dir dir;
  manual_clock clock;
  auto cfg = small_config(clock);
  cfg.max_batch_bytes = 200;
  auto l = open_log(dir.path(), cfg);
  auto big = numbered_batch("big", 1, clock.now(), 300);
  CHECK(l->append(mut_span(big)).error() == errc::batch_too_large);
  CHECK(l->next_offset() == offset(0));
  CHECK(l->size_bytes() == 0);
  CHECK(append_copy(*l, numbered_batch("ok", 1, clock.now(), 10)));
  CHECK(l->next_offset() == offset(1));
}

TEST_CASE("appending garbage or an empty buffer is refused as an invalid batch") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock));
  fill(*l, clock, 2);
  std::string empty;
  CHECK(l->append(mut_span(empty)).error() == errc::invalid_batch);
  std::string short_garbage = "not a batch";
  CHECK(l->append(mut_span(short_garbage)).error() == errc::invalid_batch);
  std::string garbage(200, '\x07');
  store_le<int32_t>(reinterpret_cast<uint8_t*>(garbage.data()) + batch_layout::batch_length, 188);
  CHECK(l->append(mut_span(garbage)).error() == errc::invalid_batch);
  // A record count that disagrees with the records, with a correct CRC.
  auto b = numbered_batch("c", 2, clock.now());
  store_le<int32_t>(reinterpret_cast<uint8_t*>(b.data()) + batch_layout::record_count, 3);
  store_le<int32_t>(reinterpret_cast<uint8_t*>(b.data()) + batch_layout::last_offset_delta, 2);
  store_le<uint32_t>(reinterpret_cast<uint8_t*>(b.data()) + batch_layout::crc,
                     compute_crc(const_span(b)));
  CHECK(l->append(mut_span(b)).error() == errc::invalid_batch);
  CHECK(l->next_offset() == offset(3));
  CHECK(l->size_bytes() == fs::file_size(l->segments().back()->path()));
}

TEST_CASE("a multi batch append with one bad batch appends nothing") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 300));
  auto want = fill(*l, clock, 2);
  auto size_before = l->size_bytes();
  auto segs_before = l->segment_count();
  auto good = numbered_batch("g", 3, clock.now(), 60);
  auto bad = numbered_batch("h", 2, clock.now(), 60);
  bad[batch_layout::magic] = 7;
  std::string both = good + good + bad;
  CHECK(l->append(mut_span(both)).error() == errc::invalid_batch);
  std::string torn = good + good.substr(0, good.size() - 1);
  CHECK(l->append(mut_span(torn)).error() == errc::invalid_batch);
  CHECK(l->next_offset() == offset(3));
  CHECK(l->size_bytes() == size_before);
  CHECK(l->segment_count() == segs_before);
  CHECK(read_all(*l, offset(0)) == want);
}

TEST_CASE("a multi batch append assigns consecutive offsets to every batch") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 300));
  auto a = numbered_batch("a", 3, clock.now(), 60);
  auto b = numbered_batch("b", 2, clock.now(), 60);
  auto c = numbered_batch("c", 1, clock.now(), 60);
  std::string all = a + b + c;
  auto r = l->append(mut_span(all));
  REQUIRE(r);
  CHECK(r->base_offset == offset(0));
  CHECK(r->last_offset == offset(5));
  CHECK(r->batches == 3);
  auto got = read_all(*l, offset(0));
  REQUIRE(got.size() == 6);
  CHECK(got[0] == rec{offset(0), "a-k0", std::string("a-v0") + std::string(56, '.'), clock.now()});
  CHECK(got[3].off == offset(3));
  CHECK(got[3].key == "b-k0");
  CHECK(got[5].off == offset(5));
  CHECK(got[5].key == "c-k0");
  CHECK(l->segment_count() >= 2);  // 300-byte segments: the batches were split across a roll
}

TEST_CASE("validate then append writes what validate accepted at the log's next offsets") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 300));
  auto want = fill(*l, clock, 2);  // offsets 0..2
  auto a = numbered_batch("a", 3, clock.now(), 60);
  auto b = numbered_batch("b", 2, clock.now(), 60);
  std::string both = a + b;
  auto v = l->validate(mut_span(both));
  REQUIRE(v);
  CHECK(v->batches().size() == 2);
  CHECK(v->record_count() == 5);
  CHECK(v->first().record_count == 3);
  CHECK(v->batches()[1].first == a.size());
  // Validating writes nothing; the offsets are the log's when it appends.
  CHECK(l->next_offset() == offset(3));
  CHECK(append_copy(*l, numbered_batch("between", 1, clock.now(), 10)));
  auto r = l->append(std::move(*v));
  REQUIRE(r);
  CHECK(r->base_offset == offset(4));
  CHECK(r->last_offset == offset(8));
  CHECK(r->batches == 2);
  auto got = read_all(*l, offset(4));
  REQUIRE(got.size() == 5);
  CHECK(got[0].key == "a-k0");
  CHECK(got[3] == rec{offset(7), "b-k0", std::string("b-v0") + std::string(56, '.'), clock.now()});
}

TEST_CASE("validate refuses a bad crc a bad batch in a multi batch buffer and an oversize batch") {
  temp_dir dir;
  manual_clock clock;
  auto cfg = small_config(clock, 300);
  cfg.max_batch_bytes = 400;
  auto l = open_log(dir.path(), cfg);
  auto good = numbered_batch("g", 2, clock.now(), 60);
  auto bad_crc = good;
  bad_crc[bad_crc.size() - 1] ^= 0x01;
  CHECK(l->validate(mut_span(bad_crc)).error() == errc::crc_mismatch);
  auto bad = numbered_batch("h", 1, clock.now(), 60);
  bad[batch_layout::magic] = 7;
  std::string mixed = good + bad;
  CHECK(l->validate(mut_span(mixed)).error() == errc::invalid_batch);
  auto big = numbered_batch("big", 1, clock.now(), 500);
  CHECK(l->validate(mut_span(big)).error() == errc::batch_too_large);
  std::string empty;
  CHECK(l->validate(mut_span(empty)).error() == errc::invalid_batch);
  CHECK(l->next_offset() == offset(0));
  CHECK(l->size_bytes() == 0);
}

TEST_CASE("a batch validated before the log closed is refused by the append with log closed") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock));
  auto b = numbered_batch("b", 2, clock.now());
  auto v = l->validate(mut_span(b));
  REQUIRE(v);
  REQUIRE(l->close());
  CHECK(l->append(std::move(*v)).error() == errc::log_closed);
  CHECK(l->validate(mut_span(b)).error() == errc::log_closed);
}

TEST_CASE("offset for timestamp finds the first batch holding a timestamp at or after it") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 400));
  // Batch i holds 2 records at time 1000 + 10 i; batch 5 has an out-of-order
  // record so its max is 2000.
  for (int i = 0; i < 20; ++i) {
    record_batch_builder b;
    b.add(std::string_view("k"), std::string_view("v"), timestamp_ms(1000 + 10 * i));
    b.add(std::string_view("k"), std::string_view("w"),
          timestamp_ms(i == 5 ? 2000 : 1000 + 10 * i));
    REQUIRE(append_copy(*l, b.build()));
  }
  REQUIRE(l->segment_count() > 2);
  auto at = [&](int64_t ts) {
    auto r = l->offset_for_timestamp(timestamp_ms(ts));
    REQUIRE(r);
    return (*r)();
  };
  CHECK(at(0) == 0);
  CHECK(at(1000) == 0);
  CHECK(at(1001) == 2);
  CHECK(at(1010) == 2);
  CHECK(at(1041) == 10);  // batch 5 (offsets 10..11) holds 2000
  CHECK(at(1060) == 10);
  CHECK(at(1190) == 10);
  CHECK(at(2000) == 10);
  CHECK(at(2001) == 40);  // nothing: next_offset
  // Without the out-of-order record the answer follows the batch times.
  CHECK(at(1051) == 10);
}

TEST_CASE("a log with a single empty segment takes every operation") {
  temp_dir dir;
  manual_clock clock;
  auto cfg = small_config(clock);
  cfg.retention_ms = 10;
  cfg.retention_bytes = 0;
  {
    auto l = open_log(dir.path(), cfg);
    clock.advance(1000);
    auto deleted = l->apply_retention();
    REQUIRE(deleted);
    CHECK(*deleted == 0);
    REQUIRE(l->truncate(offset(0)));
    REQUIRE(l->flush());
    REQUIRE(l->maybe_flush());
    REQUIRE(l->roll());
    CHECK(l->segment_count() == 1);
    CHECK(l->next_offset() == offset(0));
    CHECK(l->flushed_offset() == offset(0));
  }
  forget_clean_shutdown(dir.path());
  recovery_report report;
  auto l = open_log(dir.path(), cfg, &report);
  CHECK_FALSE(report.clean_shutdown);
  CHECK(report.events.empty());
  CHECK(l->segment_count() == 1);
  CHECK(l->log_start_offset() == offset(0));
  CHECK(l->next_offset() == offset(0));
  auto r = append_copy(*l, numbered_batch("first", 1, clock.now()));
  REQUIRE(r);
  CHECK(r->base_offset == offset(0));
  CHECK(read_all(*l, offset(0)).at(0).key == "first-k0");
}
