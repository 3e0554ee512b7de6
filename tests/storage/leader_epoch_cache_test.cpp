// leader_epoch_cache: assign, end_offset_for (KIP-101/KIP-279), truncation
// from either end, the checkpoint file and each way it can be corrupt.

#include "storage/leader_epoch_cache.h"

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <random>

#include "storage/crc32c.h"
#include "storage/errc.h"
#include "storage/log_test_util.h"
#include "support/temp_dir.h"

using namespace actormq::storage;
using namespace actormq::storage::test;
using actormq::test::temp_dir;

namespace {

leader_epoch_cache open_cache(const temp_dir& dir) {
  auto c = leader_epoch_cache::open(dir.path());
  if (!c) FAIL("leader_epoch_cache::open failed: " << c.message());
  return std::move(*c);
}

/// A cache holding entries, assigned in order.
leader_epoch_cache cache_with(const temp_dir& dir, const std::vector<epoch_entry>& entries) {
  auto c = open_cache(dir);
  for (const auto& e : entries) REQUIRE(c.assign(e.epoch, e.start_offset));
  REQUIRE(c.entries() == entries);
  return c;
}

fs::path file_of(const temp_dir& dir) {
  return dir.path() / leader_epoch_cache::file_name;
}

/// Text of a checkpoint file with a correct CRC over body.
std::string with_crc(const std::string& body) {
  return body + fmt::format("crc32c {:08x}\n", crc32c(body.data(), body.size()));
}

/// open() refuses the file as corrupt, naming it, and the reason mentions why.
void check_corrupt(const temp_dir& dir, const std::string& text, const std::string& why) {
  write_whole(file_of(dir), text);
  auto c = leader_epoch_cache::open(dir.path());
  REQUIRE_FALSE(c);
  CHECK(c.error() == errc::corrupt_checkpoint);
  CHECK_THAT(c.detail(), Catch::Contains(file_of(dir).string()));
  CHECK_THAT(c.detail(), Catch::Contains(why));
}

const std::vector<epoch_entry> history = {
    {0, offset(0)}, {1, offset(10)}, {3, offset(25)}, {4, offset(40)}};

}  // namespace

TEST_CASE("a directory without a checkpoint opens an empty epoch cache") {
  temp_dir dir;
  auto c = open_cache(dir);
  CHECK(c.entries().empty());
  CHECK_FALSE(c.latest_epoch());
  CHECK(c.end_offset_for(0, offset(10)).undefined());
  CHECK_FALSE(fs::exists(file_of(dir)));
}

TEST_CASE("assigned epochs survive a reopen") {
  temp_dir dir;
  cache_with(dir, history);
  auto c = open_cache(dir);
  CHECK(c.entries() == history);
  CHECK(c.latest_epoch() == 4);
  CHECK_FALSE(fs::exists(file_of(dir).string() + ".tmp"));
}

TEST_CASE("the checkpoint file is the documented text byte for byte") {
  temp_dir dir;
  cache_with(dir, {{0, offset(0)}, {2, offset(150)}});
  CHECK(read_whole(file_of(dir)) == "leader-epoch-checkpoint v1\n2\n0 0\n2 150\ncrc32c 382979b0\n");
  auto empty_dir = temp_dir();
  auto c = open_cache(empty_dir);
  REQUIRE(c.assign(1, offset(0)));
  REQUIRE(c.truncate_from_end(offset(0)));
  CHECK(read_whole(file_of(empty_dir)) == with_crc("leader-epoch-checkpoint v1\n0\n"));
}

TEST_CASE("assigning the latest epoch again at a later offset changes nothing") {
  temp_dir dir;
  auto c = cache_with(dir, history);
  auto before = read_whole(file_of(dir));
  REQUIRE(c.assign(4, offset(40)));
  REQUIRE(c.assign(4, offset(55)));
  CHECK(c.entries() == history);
  CHECK(read_whole(file_of(dir)) == before);
}

TEST_CASE("assigning the latest epoch at an earlier offset moves its start back") {
  temp_dir dir;
  auto c = cache_with(dir, history);
  REQUIRE(c.assign(4, offset(30)));
  CHECK(c.entries().back() == epoch_entry{4, offset(30)});
  CHECK(c.entries().size() == history.size());
}

TEST_CASE("assigning an epoch below the latest at a later offset is refused as stale") {
  temp_dir dir;
  auto c = cache_with(dir, history);
  auto st = c.assign(2, offset(50));
  CHECK(st.error() == errc::stale_leader_epoch);
  CHECK_THAT(st.detail(), Catch::Contains("epoch 2") && Catch::Contains("epoch 4"));
  st = c.assign(3, offset(40));
  CHECK(st.error() == errc::stale_leader_epoch);
  CHECK(c.entries() == history);
  CHECK(open_cache(dir).entries() == history);
}

TEST_CASE("assigning an epoch at an offset below later entries removes them") {
  temp_dir dir;
  auto c = cache_with(dir, history);
  // Epoch 5 starting at 30: the records of epoch 4 from 40 were truncated away.
  REQUIRE(c.assign(5, offset(30)));
  CHECK(c.entries() == std::vector<epoch_entry>{
                           {0, offset(0)}, {1, offset(10)}, {3, offset(25)}, {5, offset(30)}});
  CHECK(open_cache(dir).entries() == c.entries());
}

TEST_CASE("assigning an earlier epoch at an earlier offset replaces the later epochs") {
  temp_dir dir;
  auto c = cache_with(dir, history);
  REQUIRE(c.assign(2, offset(20)));
  CHECK(c.entries() == std::vector<epoch_entry>{{0, offset(0)}, {1, offset(10)}, {2, offset(20)}});
}

TEST_CASE("assigning a negative epoch or offset is refused") {
  temp_dir dir;
  auto c = cache_with(dir, history);
  CHECK(c.assign(-1, offset(50)).error() == errc::invalid_argument);
  CHECK(c.assign(5, offset(-1)).error() == errc::invalid_argument);
  CHECK(c.entries() == history);
}

TEST_CASE("the end offset of the latest epoch is the log end") {
  temp_dir dir;
  auto c = cache_with(dir, history);
  CHECK(c.end_offset_for(4, offset(57)) == epoch_end_offset{4, offset(57)});
}

TEST_CASE("an earlier epoch ends where the next epoch starts") {
  temp_dir dir;
  auto c = cache_with(dir, history);
  CHECK(c.end_offset_for(0, offset(57)) == epoch_end_offset{0, offset(10)});
  CHECK(c.end_offset_for(1, offset(57)) == epoch_end_offset{1, offset(25)});
  CHECK(c.end_offset_for(3, offset(57)) == epoch_end_offset{3, offset(40)});
}

TEST_CASE("an epoch the cache never had is answered with the largest epoch below it") {
  temp_dir dir;
  auto c = cache_with(dir, history);
  // KIP-279: epoch 2 never wrote here; epoch 1 is the largest below it.
  CHECK(c.end_offset_for(2, offset(57)) == epoch_end_offset{1, offset(25)});
}

TEST_CASE("an epoch below the first entry or above the latest is undefined") {
  temp_dir dir;
  auto c = cache_with(dir, {{3, offset(100)}, {5, offset(120)}});
  CHECK(c.end_offset_for(2, offset(130)).undefined());
  CHECK(c.end_offset_for(2, offset(130)).leader_epoch == -1);
  CHECK(c.end_offset_for(6, offset(130)).undefined());
  CHECK(c.end_offset_for(-1, offset(130)).undefined());
}

TEST_CASE("truncating from the end drops the epochs that started at or after the end") {
  temp_dir dir;
  auto c = cache_with(dir, history);
  REQUIRE(c.truncate_from_end(offset(41)));
  CHECK(c.entries() == history);
  REQUIRE(c.truncate_from_end(offset(25)));
  CHECK(c.entries() == std::vector<epoch_entry>{{0, offset(0)}, {1, offset(10)}});
  CHECK(open_cache(dir).entries() == c.entries());
  REQUIRE(c.truncate_from_end(offset(0)));
  CHECK(c.entries().empty());
  CHECK(open_cache(dir).entries().empty());
}

TEST_CASE("truncating from the start moves the covering epoch's start up") {
  temp_dir dir;
  auto c = cache_with(dir, history);
  REQUIRE(c.truncate_from_start(offset(30)));
  CHECK(c.entries() == std::vector<epoch_entry>{{3, offset(30)}, {4, offset(40)}});
  CHECK(open_cache(dir).entries() == c.entries());
  // Exactly at an entry's start: the entries before it go, it stays as is.
  REQUIRE(c.truncate_from_start(offset(40)));
  CHECK(c.entries() == std::vector<epoch_entry>{{4, offset(40)}});
  // Past the log end of the latest epoch: it now starts there.
  REQUIRE(c.truncate_from_start(offset(60)));
  CHECK(c.entries() == std::vector<epoch_entry>{{4, offset(60)}});
}

TEST_CASE("truncating from a start before every epoch changes nothing") {
  temp_dir dir;
  auto c = cache_with(dir, {{3, offset(100)}, {5, offset(120)}});
  auto before = read_whole(file_of(dir));
  REQUIRE(c.truncate_from_start(offset(50)));
  REQUIRE(c.truncate_from_start(offset(100)));
  CHECK(c.entries() == std::vector<epoch_entry>{{3, offset(100)}, {5, offset(120)}});
  CHECK(read_whole(file_of(dir)) == before);
}

TEST_CASE("a failed checkpoint write leaves the epoch cache unchanged") {
  temp_dir dir;
  auto c = cache_with(dir, history);
  // A directory where the temp file goes makes the atomic write fail.
  fs::create_directory(file_of(dir).string() + ".tmp");
  auto st = c.assign(5, offset(60));
  REQUIRE_FALSE(st);
  CHECK_THAT(st.detail(), Catch::Contains(file_of(dir).string()));
  CHECK(c.entries() == history);
  CHECK_FALSE(c.truncate_from_end(offset(10)));
  CHECK(c.entries() == history);
  CHECK_FALSE(c.truncate_from_start(offset(30)));
  CHECK(c.entries() == history);
  fs::remove(file_of(dir).string() + ".tmp");
  CHECK(open_cache(dir).entries() == history);
}

TEST_CASE("a torn epoch checkpoint is corrupt") {
  temp_dir dir;
  cache_with(dir, history);
  auto whole = read_whole(file_of(dir));
  // Every cut short of the whole file is refused, whatever line it ends in.
  for (size_t n = 0; n < whole.size(); ++n) {
    INFO("cut at " << n);
    write_whole(file_of(dir), whole.substr(0, n));
    auto c = leader_epoch_cache::open(dir.path());
    REQUIRE_FALSE(c);
    CHECK(c.error() == errc::corrupt_checkpoint);
    CHECK_THAT(c.detail(), Catch::Contains(file_of(dir).string()));
  }
}

TEST_CASE("an epoch checkpoint with a wrong crc is corrupt") {
  temp_dir dir;
  cache_with(dir, history);
  auto text = read_whole(file_of(dir));
  auto at = text.find("3 25");
  REQUIRE(at != std::string::npos);
  text[at] = '2';  // "2 25": still ordered, only the CRC can tell
  check_corrupt(dir, text, "CRC mismatch");
}

TEST_CASE("an epoch checkpoint with a malformed crc line is corrupt") {
  temp_dir dir;
  check_corrupt(dir, "leader-epoch-checkpoint v1\n0\ncrc32c xyz\n", "crc32c <8 hex digits>");
  check_corrupt(dir, "leader-epoch-checkpoint v1\n0\nadler 00000000\n", "crc32c <8 hex digits>");
}

TEST_CASE("an epoch checkpoint of another format or version is corrupt") {
  temp_dir dir;
  check_corrupt(dir, with_crc("leader-epoch-checkpoint v2\n0\n"), "line 1");
  // Kafka's own format (version 0, count, entries) is not ours either.
  check_corrupt(dir, "0\n1\n0 0\n", "line 1");
}

TEST_CASE("an epoch checkpoint whose count is not a number is corrupt") {
  temp_dir dir;
  check_corrupt(dir, with_crc("leader-epoch-checkpoint v1\ntwo\n0 0\n1 5\n"), "line 2");
  check_corrupt(dir, with_crc("leader-epoch-checkpoint v1\n-1\n"), "line 2");
}

TEST_CASE("an epoch checkpoint with fewer entries than its count is corrupt") {
  temp_dir dir;
  // A huge count must not be trusted for an allocation either.
  check_corrupt(dir, "leader-epoch-checkpoint v1\n4000000000\n0 0\n",
                "after 1 of 4000000000 entries");
  // The crc line where an entry is due is no entry.
  check_corrupt(dir, with_crc("leader-epoch-checkpoint v1\n2\n0 0\n"), "line 4");
}

TEST_CASE("an epoch checkpoint with a malformed entry is corrupt") {
  temp_dir dir;
  check_corrupt(dir, with_crc("leader-epoch-checkpoint v1\n1\n0\n"), "line 3");
  check_corrupt(dir, with_crc("leader-epoch-checkpoint v1\n1\n0  0\n"), "line 3");
  check_corrupt(dir, with_crc("leader-epoch-checkpoint v1\n1\n-1 0\n"), "line 3");
  check_corrupt(dir, with_crc("leader-epoch-checkpoint v1\n1\n0 x\n"), "line 3");
  check_corrupt(dir, with_crc("leader-epoch-checkpoint v1\n1\n3000000000 0\n"), "line 3");
}

TEST_CASE("an epoch checkpoint whose entries do not increase is corrupt") {
  temp_dir dir;
  check_corrupt(dir, with_crc("leader-epoch-checkpoint v1\n2\n1 10\n1 20\n"), "increase");
  check_corrupt(dir, with_crc("leader-epoch-checkpoint v1\n2\n1 10\n2 10\n"), "increase");
  check_corrupt(dir, with_crc("leader-epoch-checkpoint v1\n2\n2 10\n1 20\n"), "increase");
}

TEST_CASE("an epoch checkpoint with bytes after the crc line is corrupt") {
  temp_dir dir;
  check_corrupt(dir, with_crc("leader-epoch-checkpoint v1\n0\n") + "x", "after the crc32c line");
}

TEST_CASE("an oversized epoch checkpoint is corrupt without being read") {
  temp_dir dir;
  write_whole(file_of(dir), "");
  fs::resize_file(file_of(dir), 64u << 20);  // sparse
  auto c = leader_epoch_cache::open(dir.path());
  REQUIRE_FALSE(c);
  CHECK(c.error() == errc::corrupt_checkpoint);
  CHECK_THAT(c.detail(), Catch::Contains(file_of(dir).string()));
}

TEST_CASE("random garbage in an epoch checkpoint is reported, never trusted") {
  temp_dir dir;
  auto seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  using namespace std::string_literals;
  const std::string alphabet = "leader-epoch-checkpoint v1\n0123456789 crc32cabcdef\x00\xff"s;
  for (int round = 0; round < 500; ++round) {
    std::string text;
    if (round % 2 == 0) text = "leader-epoch-checkpoint v1\n";  // get past the header often
    size_t n = rng() % 200;
    for (size_t i = 0; i < n; ++i) text.push_back(alphabet[rng() % alphabet.size()]);
    write_whole(file_of(dir), text);
    auto c = leader_epoch_cache::open(dir.path());
    // Garbage that happens to be a valid file is vanishingly unlikely (CRC).
    REQUIRE_FALSE(c);
    CHECK(c.error() == errc::corrupt_checkpoint);
  }
}
