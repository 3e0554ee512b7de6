// offset_checkpoint: one offset in a small file (high-watermark, log_start).

#include "storage/offset_checkpoint.h"

#include <catch2/catch.hpp>

#include "storage/errc.h"
#include "storage/log_test_util.h"
#include "support/temp_dir.h"

using namespace actormq::storage;
using namespace actormq::storage::test;
using actormq::test::temp_dir;

namespace {

/// Writes text to the file and reads it back through the checkpoint.
result<std::optional<offset>> read_text(const temp_dir& dir, const std::string& text) {
  auto path = dir.path() / "high-watermark";
  write_whole(path, text);
  return offset_checkpoint(path).read();
}

/// The read is refused as corrupt, with the file named in the detail.
void check_corrupt(const temp_dir& dir, const std::string& text) {
  auto r = read_text(dir, text);
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::corrupt_checkpoint);
  CHECK_THAT(r.detail(), Catch::Contains((dir.path() / "high-watermark").string()));
}

}  // namespace

TEST_CASE("an offset checkpoint reads back the offset last written") {
  temp_dir dir;
  offset_checkpoint cp(dir.path() / "high-watermark");
  for (int64_t v : {int64_t{0}, int64_t{42}, int64_t{7}, std::numeric_limits<int64_t>::max()}) {
    REQUIRE(cp.write(offset(v)));
    auto got = cp.read();
    REQUIRE(got);
    REQUIRE(*got);
    CHECK(**got == offset(v));
  }
  CHECK(read_whole(cp.path()) == "9223372036854775807\n");
  CHECK_FALSE(fs::exists(dir.path() / "high-watermark.tmp"));
}

TEST_CASE("a missing offset checkpoint reads as no offset") {
  temp_dir dir;
  auto got = offset_checkpoint(dir.path() / "high-watermark").read();
  REQUIRE(got);
  CHECK_FALSE(*got);
}

TEST_CASE("an offset checkpoint refuses to write a negative offset") {
  temp_dir dir;
  offset_checkpoint cp(dir.path() / "high-watermark");
  auto st = cp.write(offset(-1));
  CHECK(st.error() == errc::invalid_argument);
  CHECK_FALSE(fs::exists(cp.path()));
}

TEST_CASE("an empty offset checkpoint is corrupt") {
  temp_dir dir;
  check_corrupt(dir, "");
}

TEST_CASE("an offset checkpoint without its newline is corrupt") {
  temp_dir dir;
  check_corrupt(dir, "42");
}

TEST_CASE("an offset checkpoint holding text is corrupt") {
  temp_dir dir;
  check_corrupt(dir, "garbage\n");
  check_corrupt(dir, "\n");
  check_corrupt(dir, " 42\n");
  check_corrupt(dir, "+42\n");
  check_corrupt(dir, "0x2a\n");
}

TEST_CASE("a negative offset checkpoint is corrupt") {
  temp_dir dir;
  check_corrupt(dir, "-5\n");
}

TEST_CASE("an offset checkpoint with bytes after the newline is corrupt") {
  temp_dir dir;
  check_corrupt(dir, "42\n43\n");
  check_corrupt(dir, "42\n\n");
}

TEST_CASE("an offset checkpoint past int64 is corrupt") {
  temp_dir dir;
  check_corrupt(dir, "9223372036854775808\n");
  check_corrupt(dir, "99999999999999999999\n");
}

TEST_CASE("a long offset checkpoint is corrupt without being parsed") {
  temp_dir dir;
  check_corrupt(dir, std::string(1 << 16, '7') + "\n");
}

TEST_CASE("binary garbage in an offset checkpoint is corrupt") {
  temp_dir dir;
  check_corrupt(dir, std::string("\x00\xff\x10\n", 4));
}

TEST_CASE("the log start is kept in the offset checkpoint format") {
  temp_dir dir;
  manual_clock clock;
  auto l = open_log(dir.path(), small_config(clock, 1 << 20));
  REQUIRE(append_copy(*l, numbered_batch("a", 5, clock.now())));
  REQUIRE(l->advance_start(offset(3)));
  auto got = offset_checkpoint(dir.path() / "log_start").read();
  REQUIRE(got);
  REQUIRE(*got);
  CHECK(**got == offset(3));
}
