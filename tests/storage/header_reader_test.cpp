// header_reader: batch headers of a .log read through one buffer, so a walk
// over small batches costs a pread per window rather than per batch.

#include "storage/header_reader.h"

#include <catch2/catch.hpp>

#include "storage/log_test_util.h"
#include "support/temp_dir.h"

using namespace actormq::storage;
using namespace actormq::storage::test;
using actormq::test::temp_dir;

namespace {

namespace L = batch_layout;

/// Writes the batches back to back to dir/name; returns the file, the
/// position of each batch and the total size.
struct written {
  std::shared_ptr<file_handle> file;
  std::vector<uint64_t> positions;
  std::vector<batch_header> headers;
  uint64_t size = 0;
};

written write_batches(const fs::path& path, int batches, size_t value_bytes) {
  written w;
  std::string all;
  for (int b = 0; b < batches; ++b) {
    auto bytes =
        numbered_batch("b" + std::to_string(b), 1 + b % 3, timestamp_ms(1000 + b), value_bytes);
    w.positions.push_back(all.size());
    w.headers.push_back(decode_header(const_span(bytes)));
    all += bytes;
  }
  write_whole(path, all);
  auto f = file_handle::open(path, false);
  REQUIRE(f);
  w.file = *f;
  w.size = all.size();
  return w;
}

void check_walk(const written& w, header_reader& r) {
  for (size_t i = 0; i < w.positions.size(); ++i) {
    auto h = r.at(w.positions[i]);
    REQUIRE(h);
    REQUIRE(*h);
    CHECK((*h)->batch_length == w.headers[i].batch_length);
    CHECK((*h)->max_timestamp == w.headers[i].max_timestamp);
    CHECK((*h)->record_count == w.headers[i].record_count);
    CHECK((*h)->size_bytes() == w.headers[i].size_bytes());
  }
  auto end = r.at(w.size);
  REQUIRE(end);
  CHECK(!*end);
}

}  // namespace

TEST_CASE("header_reader walks small batches with a pread per window, not per batch",
          "[storage][header_reader]") {
  temp_dir dir;
  auto w = write_batches(dir.path() / "small.log", 2000, 40);
  REQUIRE(w.size > 100 * 1024);
  header_reader r(*w.file, w.size, 16 * 1024);
  check_walk(w, r);
  // Each refill starts at a header and covers 16 KiB: at most one more read
  // than the file has windows, however the batches straddle their ends.
  CHECK(r.reads() <= w.size / (16 * 1024 - L::header_size) + 2);
}

TEST_CASE("header_reader reads a header that straddles the end of its window",
          "[storage][header_reader]") {
  temp_dir dir;
  auto w = write_batches(dir.path() / "straddle.log", 300, 17);
  // A window that is no multiple of any batch size: headers cross its end.
  for (size_t window : {L::header_size, L::header_size + 1, size_t{333}, size_t{1000}}) {
    header_reader r(*w.file, w.size, window);
    check_walk(w, r);
  }
}

TEST_CASE("header_reader reads batches larger than its window header by header",
          "[storage][header_reader]") {
  temp_dir dir;
  auto w = write_batches(dir.path() / "large.log", 20, 5000);
  header_reader r(*w.file, w.size, 4096);
  check_walk(w, r);
  CHECK(r.reads() == w.positions.size());
}

TEST_CASE("header_reader: a torn header at the end of the data is no header",
          "[storage][header_reader]") {
  temp_dir dir;
  auto w = write_batches(dir.path() / "torn.log", 5, 10);
  // The data end cuts the last header short.
  uint64_t cut = w.positions.back() + L::header_size - 1;
  header_reader r(*w.file, cut);
  auto h = r.at(w.positions.back());
  REQUIRE(h);
  CHECK(!*h);
  auto before = r.at(w.positions[3]);
  REQUIRE(before);
  REQUIRE(*before);
  CHECK((*before)->batch_length == w.headers[3].batch_length);
}

TEST_CASE("header_reader: a file shorter than the size it was told is an error, not a header",
          "[storage][header_reader]") {
  temp_dir dir;
  auto w = write_batches(dir.path() / "short.log", 5, 10);
  cut_file(dir.path() / "short.log", w.positions[2]);
  header_reader r(*w.file, w.size);
  auto h = r.at(w.positions[3]);
  CHECK(!h);
}
