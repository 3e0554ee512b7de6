// delay::legacy_schedule: reading a previous release's <data>/delay (schedule
// log + schedule store) for the upgrade move onto __delay_schedule.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "actors/delay/legacy_schedule.h"
#include "storage/log.h"
#include "storage/record_batch_builder.h"
#include "storage/schedule_store.h"
#include "support/temp_dir.h"

using actormq::delay::legacy_schedule;
using actormq::delay::schedule_envelope;
namespace storage = actormq::storage;

namespace {

constexpr int64_t legacy_t0 = 1'732'500'000'000;
constexpr auto legacy_width = std::chrono::milliseconds(1000);

/// Writes envelopes due at dues[i] (value "v<i>") the way the previous
/// release did; returns their log offsets.
std::vector<int64_t> write_legacy(const std::filesystem::path& dir,
                                  const std::vector<int64_t>& dues) {
  std::vector<int64_t> offsets;
  auto log = storage::log::open(dir / "log", {});
  REQUIRE(log);
  storage::schedule_store_config sc;
  sc.bucket_width = legacy_width;
  auto store = storage::schedule_store::open(dir / "schedule", sc);
  REQUIRE(store);
  for (size_t i = 0; i < dues.size(); ++i) {
    storage::record_batch_builder b;
    auto value = "v" + std::to_string(i);
    b.add(std::nullopt, std::string_view(value), storage::timestamp_ms(legacy_t0));
    schedule_envelope env{"t", 0, dues[i], b.build()};
    auto bytes = env.encode(legacy_t0);
    auto r = (*log)->append({reinterpret_cast<uint8_t*>(bytes.data()), bytes.size()});
    REQUIRE(r);
    offsets.push_back(r->base_offset());
    REQUIRE((*store)->add(
        {storage::timestamp_ms(dues[i]), 0, static_cast<uint64_t>(r->base_offset())}));
  }
  REQUIRE((*store)->flush());
  REQUIRE((*log)->close());
  return offsets;
}

std::vector<int64_t> dues_of(const std::vector<schedule_envelope>& chunk) {
  std::vector<int64_t> out;
  for (const auto& e : chunk) out.push_back(e.deliver_at_ms);
  return out;
}

}  // namespace

TEST_CASE("no previous release's schedule: nothing to move", "[delay][legacy]") {
  actormq::test::temp_dir dir;
  auto l = legacy_schedule::open(dir.path() / "delay", legacy_width);
  REQUIRE(l);
  CHECK(*l == nullptr);
}

TEST_CASE("the previous release's schedule comes back in due order, chunks cut at due changes",
          "[delay][legacy]") {
  actormq::test::temp_dir dir;
  auto d = dir.path() / "delay";
  // Written out of order; three with one due time straddle the chunk size.
  write_legacy(d, {legacy_t0 + 30, legacy_t0 + 10, legacy_t0 + 20, legacy_t0 + 20, legacy_t0 + 20,
                   legacy_t0 + 1500});
  auto l = legacy_schedule::open(d, legacy_width, /*max_chunk=*/2);
  REQUIRE(l);
  REQUIRE(*l);
  auto& m = **l;
  auto c1 = m.next_chunk();
  REQUIRE(c1);
  CHECK(dues_of(*c1) == std::vector<int64_t>{legacy_t0 + 10});  // cut before the run of 20s
  // Not done(): the same chunk again.
  auto again = m.next_chunk();
  REQUIRE(again);
  CHECK(dues_of(*again) == dues_of(*c1));
  REQUIRE(m.done());
  auto c2 = m.next_chunk();
  REQUIRE(c2);
  // A run of equal due times longer than a chunk is one chunk.
  CHECK(dues_of(*c2) == std::vector<int64_t>{legacy_t0 + 20, legacy_t0 + 20, legacy_t0 + 20});
  REQUIRE(m.done());
  auto c3 = m.next_chunk();
  REQUIRE(c3);
  CHECK(dues_of(*c3) == std::vector<int64_t>{legacy_t0 + 30});
  REQUIRE(c3->front().topic == "t");
  REQUIRE(m.done());
  auto c4 = m.next_chunk();  // the next bucket
  REQUIRE(c4);
  CHECK(dues_of(*c4) == std::vector<int64_t>{legacy_t0 + 1500});
  REQUIRE(m.done());
  auto end = m.next_chunk();
  REQUIRE(end);
  CHECK(end->empty());
  CHECK(m.moved() == 6);
  CHECK(m.lost() == 0);
  REQUIRE(m.finish());
  CHECK_FALSE(std::filesystem::exists(d));
}

TEST_CASE("a move interrupted after done() resumes at the next chunk", "[delay][legacy]") {
  actormq::test::temp_dir dir;
  auto d = dir.path() / "delay";
  write_legacy(d, {legacy_t0 + 1, legacy_t0 + 2, legacy_t0 + 3, legacy_t0 + 4});
  {
    auto l = legacy_schedule::open(d, legacy_width, 2);
    REQUIRE(l);
    auto c = (*l)->next_chunk();
    REQUIRE(c);
    CHECK(dues_of(*c) == std::vector<int64_t>{legacy_t0 + 1, legacy_t0 + 2});
    REQUIRE((*l)->done());
    // Crash: the second chunk was handed out but never done().
    auto c2 = (*l)->next_chunk();
    REQUIRE(c2);
  }
  auto l = legacy_schedule::open(d, legacy_width, 2);
  REQUIRE(l);
  auto c = (*l)->next_chunk();
  REQUIRE(c);
  CHECK(dues_of(*c) == std::vector<int64_t>{legacy_t0 + 3, legacy_t0 + 4});
}

TEST_CASE("an entry whose envelope is gone is counted lost, the others move", "[delay][legacy]") {
  actormq::test::temp_dir dir;
  auto d = dir.path() / "delay";
  auto offsets = write_legacy(d, {legacy_t0 + 1, legacy_t0 + 2});
  // An entry pointing past the end of the log (its envelope never written).
  {
    storage::schedule_store_config sc;
    sc.bucket_width = legacy_width;
    auto store = storage::schedule_store::open(d / "schedule", sc);
    REQUIRE(store);
    REQUIRE((*store)->add({storage::timestamp_ms(legacy_t0 + 3), 0, 999}));
    REQUIRE((*store)->flush());
  }
  auto l = legacy_schedule::open(d, legacy_width);
  REQUIRE(l);
  auto c = (*l)->next_chunk();
  REQUIRE(c);
  CHECK(dues_of(*c) == std::vector<int64_t>{legacy_t0 + 1, legacy_t0 + 2});
  REQUIRE((*l)->done());
  auto end = (*l)->next_chunk();
  REQUIRE(end);
  CHECK(end->empty());
  CHECK((*l)->moved() == 2);
  CHECK((*l)->lost() == 1);
}
