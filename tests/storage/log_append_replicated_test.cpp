// append_replicated: a follower stores the leader's batches as they are.

#include <catch2/catch.hpp>

#include "storage/log.h"
#include "storage/log_test_util.h"
#include "support/temp_dir.h"

using namespace actormq::storage;
using namespace actormq::storage::test;
using actormq::test::temp_dir;

namespace {

/// Every byte of the log from `from` on, as a follower would fetch it.
std::string log_bytes(const partition_log& l, offset from) {
  std::string out;
  offset at = from;
  for (int guard = 0; at < l.next_offset(); ++guard) {
    REQUIRE(guard < 100'000);
    auto s = l.read(at, 1 << 20);
    REQUIRE(s);
    REQUIRE(s->length > 0);
    out += slice_bytes(*s);
    at = s->next_offset;
  }
  return out;
}

/// Concatenated bytes of every segment file, in order.
std::string segment_files(const partition_log& l) {
  std::string out;
  for (const auto& s : l.segments()) out += read_whole(s->path());
  return out;
}

/// The batches of bytes, split.
std::vector<std::string> split_batches(const std::string& bytes) {
  std::vector<std::string> out;
  for_each_batch(const_span(bytes), [&](const batch_header&, std::span<const uint8_t> b) {
    out.emplace_back(reinterpret_cast<const char*>(b.data()), b.size());
  });
  return out;
}

void fill(partition_log& l, const manual_clock& clock, int batches) {
  for (int b = 0; b < batches; ++b) {
    REQUIRE(append_copy(l, numbered_batch("r" + std::to_string(b), 1 + b % 3, clock.now(), 30)));
  }
}

/// A leader holding `batches` batches (of 1, 2, 3, 1, ... records) in one
/// segment, an empty follower, and the leader's batches one by one.
struct leader_and_follower {
  explicit leader_and_follower(int batches) {
    auto cfg = small_config(clock, 1 << 20);
    leader = open_log(leader_dir.path(), cfg);
    fill(*leader, clock, batches);
    follower = open_log(follower_dir.path(), cfg);
    leader_batches = split_batches(log_bytes(*leader, offset(0)));
  }
  temp_dir leader_dir, follower_dir;
  manual_clock clock;
  std::unique_ptr<partition_log> leader, follower;
  std::vector<std::string> leader_batches;
};

}  // namespace

TEST_CASE("replicated batches are stored byte for byte at the leader's offsets") {
  temp_dir leader_dir, follower_dir;
  manual_clock clock;
  auto cfg = small_config(clock, 600);
  auto leader = open_log(leader_dir.path(), cfg);
  fill(*leader, clock, 40);
  auto follower = open_log(follower_dir.path(), cfg);
  // Fetched in several pieces, as a follower does.
  auto bytes = log_bytes(*leader, offset(0));
  auto batches = split_batches(bytes);
  REQUIRE(batches.size() == 40);
  size_t i = 0;
  while (i < batches.size()) {
    std::string piece;
    for (size_t k = 0; k < 7 && i < batches.size(); ++k) piece += batches[i++];
    auto r = follower->append_replicated(const_span(piece));
    REQUIRE(r);
    CHECK(r->base_offset == decode_header(const_span(piece)).base_offset);
  }
  CHECK(follower->next_offset() == leader->next_offset());
  CHECK(follower->segment_count() > 1);  // the follower rolls by its own settings
  CHECK(segment_files(*follower) == segment_files(*leader));
  CHECK(read_all(*follower, offset(0)) == read_all(*leader, offset(0)));
}

TEST_CASE("a replicated append past the log end is refused as a gap") {
  leader_and_follower p(4);  // [0,1) [1,3) [3,6) [6,7)
  auto& follower = p.follower;
  const auto& batches = p.leader_batches;
  REQUIRE(follower->append_replicated(const_span(batches[0])));
  auto r = follower->append_replicated(const_span(batches[2]));
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::offset_mismatch);
  CHECK_THAT(r.detail(),
             Catch::Contains("base offset 3 where 1 was expected") && Catch::Contains("gap"));
  CHECK(follower->next_offset() == offset(1));
}

TEST_CASE("a replicated append below the log end is refused as an overlap") {
  leader_and_follower p(4);
  auto& follower = p.follower;
  const auto& batches = p.leader_batches;
  REQUIRE(follower->append_replicated(const_span(batches[0] + batches[1])));
  auto size = follower->size_bytes();
  auto r = follower->append_replicated(const_span(batches[1]));
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::offset_mismatch);
  CHECK_THAT(r.detail(),
             Catch::Contains("base offset 1 where 3 was expected") && Catch::Contains("overlap"));
  CHECK(follower->size_bytes() == size);
}

TEST_CASE("replicated batches that leave a gap between them are refused whole") {
  leader_and_follower p(4);
  auto& follower = p.follower;
  const auto& batches = p.leader_batches;
  auto r = follower->append_replicated(const_span(batches[0] + batches[1] + batches[3]));
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::offset_mismatch);
  CHECK_THAT(r.detail(), Catch::Contains("batch 2") && Catch::Contains("6 where 3"));
  CHECK(follower->next_offset() == offset(0));
  CHECK(follower->size_bytes() == 0);
}

TEST_CASE("a replicated batch with a bad crc is refused and nothing is written") {
  leader_and_follower p(3);
  auto& follower = p.follower;
  const auto& batches = p.leader_batches;
  auto bad = batches[0] + batches[1];
  bad[batches[0].size() + batches[1].size() - 1] ^= 0x01;  // a record byte of the second batch
  CHECK(follower->append_replicated(const_span(bad)).error() == errc::crc_mismatch);
  CHECK(follower->size_bytes() == 0);
}

TEST_CASE("a malformed replicated batch is refused and nothing is written") {
  leader_and_follower p(2);
  auto& follower = p.follower;
  auto bytes = p.leader_batches[0] + p.leader_batches[1];
  CHECK(follower->append_replicated(const_span(bytes.substr(0, bytes.size() - 1))).error() ==
        errc::invalid_batch);
  CHECK(follower->append_replicated({}).error() == errc::invalid_batch);
  CHECK(follower->size_bytes() == 0);
}

TEST_CASE("a replicated batch above max batch bytes is still stored") {
  // The leader applied its limit; a follower configured lower must not stall.
  temp_dir leader_dir, follower_dir;
  manual_clock clock;
  auto leader = open_log(leader_dir.path(), small_config(clock, 1 << 20));
  REQUIRE(append_copy(*leader, numbered_batch("big", 10, clock.now(), 100)));
  auto cfg = small_config(clock, 1 << 20);
  cfg.max_batch_bytes = 200;
  auto follower = open_log(follower_dir.path(), cfg);
  auto bytes = log_bytes(*leader, offset(0));
  REQUIRE(bytes.size() > 200);
  auto r = follower->append_replicated(const_span(bytes));
  REQUIRE(r);
  CHECK(r->last_offset == offset(9));
}

TEST_CASE("the flush policy applies to replicated appends") {
  temp_dir leader_dir, follower_dir;
  manual_clock clock;
  auto leader = open_log(leader_dir.path(), small_config(clock, 1 << 20));
  fill(*leader, clock, 3);
  auto cfg = small_config(clock, 1 << 20);
  cfg.flush = flush_policy::every_append();
  auto follower = open_log(follower_dir.path(), cfg);
  auto r = follower->append_replicated(const_span(log_bytes(*leader, offset(0))));
  REQUIRE(r);
  CHECK(r->flushed);
  CHECK(follower->flushed_offset() == leader->next_offset());
  CHECK(follower->unflushed_messages() == 0);
}

TEST_CASE("a follower that truncated its diverged tail continues with the leader's batches") {
  temp_dir leader_dir, follower_dir;
  manual_clock clock;
  auto cfg = small_config(clock, 500);
  auto leader = open_log(leader_dir.path(), cfg);
  fill(*leader, clock, 30);
  auto follower = open_log(follower_dir.path(), cfg);
  auto batches = split_batches(log_bytes(*leader, offset(0)));
  std::string common;
  for (size_t i = 0; i < 12; ++i) common += batches[i];
  REQUIRE(follower->append_replicated(const_span(common)));
  const auto diverge_at = follower->next_offset();
  // Records of its own, written while it briefly led, across a roll.
  for (int i = 0; i < 15; ++i) {
    REQUIRE(append_copy(*follower, numbered_batch("mine", 2, clock.now(), 30)));
  }
  REQUIRE(follower->segments().back()->base_offset() > diverge_at);
  REQUIRE(follower->truncate(diverge_at));
  REQUIRE(follower->next_offset() == diverge_at);
  auto rest = log_bytes(*leader, diverge_at);
  REQUIRE(follower->append_replicated(const_span(rest)));
  CHECK(read_all(*follower, offset(0)) == read_all(*leader, offset(0)));
  REQUIRE(follower->close());
  follower.reset();
  recovery_report report;
  auto reopened = open_log(follower_dir.path(), cfg, &report);
  CHECK(report.events.empty());
  CHECK(read_all(*reopened, offset(0)) == read_all(*leader, offset(0)));
}
