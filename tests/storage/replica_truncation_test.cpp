// The follower truncation rule of KIP-101 and KIP-279, run as the exchange a
// follower and its leader have, on plain epoch histories.

#include "storage/replica_truncation.h"

#include <catch2/catch.hpp>
#include <vector>

#include "storage/errc.h"

using namespace actormq::storage;

namespace {

/// What one replica knows: its epochs, its log end and its high watermark.
struct replica {
  std::vector<epoch_entry> epochs;
  offset log_end{0};
  offset high_watermark{0};

  /// What log.truncate + cache.truncate_from_end do (records here are one
  /// per batch, so the log cuts exactly at o).
  void truncate(offset o) {
    if (o >= log_end) return;
    log_end = o;
    while (!epochs.empty() && epochs.back().start_offset >= o) epochs.pop_back();
  }
  epoch_end_offset answer(int32_t epoch) const {
    return leader_epoch_cache::end_offset_for(epochs, epoch, log_end);
  }
};

/// Runs the whole exchange of replica_truncation.h between follower and
/// leader; returns every step taken. Bounded: a rule that loops fails here.
std::vector<truncation_step> reconcile(replica& follower, const replica& leader) {
  std::vector<truncation_step> steps;
  auto step = first_truncation_step(follower.epochs, follower.log_end, follower.high_watermark);
  steps.push_back(step);
  while (step.ask_epoch) {
    REQUIRE(steps.size() < 16);
    follower.truncate(step.truncate_to);
    auto asked = *step.ask_epoch;
    auto next = next_truncation_step(follower.epochs, follower.log_end, follower.high_watermark,
                                     asked, leader.answer(asked));
    REQUIRE(next);
    step = *next;
    steps.push_back(step);
  }
  follower.truncate(step.truncate_to);
  return steps;
}

}  // namespace

TEST_CASE(
    "a follower keeps an acknowledged record its lagging high watermark would cut (KIP-101 "
    "scenario 1)") {
  // A leads epoch 0 and has m0, m1; B fetched both and A's high watermark is
  // 2 (m1 acknowledged), but B learns that only with its next fetch: its own
  // high watermark is 1. B restarts. Truncating to its high watermark would
  // drop m1, and if A then died B would lead without an acknowledged record.
  replica leader{{{0, offset(0)}}, offset(2), offset(2)};
  replica follower{{{0, offset(0)}}, offset(2), offset(1)};
  auto steps = reconcile(follower, leader);
  CHECK(steps.front() == truncation_step{offset(2), 0});
  CHECK(steps.back() == truncation_step{offset(2), std::nullopt});
  CHECK(follower.log_end == offset(2));
  CHECK(follower.epochs == leader.epochs);
}

TEST_CASE("replicas that crash together do not diverge (KIP-101 scenario 2)") {
  // A leads epoch 0 with m0, m1; B has m0 only. Both crash; B comes back
  // first, leads epoch 1 and writes m2 at offset 1. A comes back as a
  // follower holding m1 at offset 1, which B never had.
  replica a{{{0, offset(0)}}, offset(2), offset(1)};
  replica b{{{0, offset(0)}, {1, offset(1)}}, offset(2), offset(2)};
  auto steps = reconcile(a, b);
  // A asks where epoch 0 ended: at 1 on B, so m1 goes and A fetches m2.
  REQUIRE(steps.size() == 2);
  CHECK(steps[1] == truncation_step{offset(1), std::nullopt});
  CHECK(a.log_end == offset(1));
  CHECK(a.epochs == std::vector<epoch_entry>{{0, offset(0)}});
}

TEST_CASE(
    "a follower drops what it wrote as a short lived leader when leadership changes twice "
    "quickly (KIP-279)") {
  // A leads epoch 1 and writes m0, m1; B fetches m0. A fails, B leads epoch 2
  // and writes m2 at offset 1. B fails before A fetches it, and A leads again
  // in epoch 3 from its log end 2, where it writes m3. B comes back as a
  // follower and asks where its epoch 2 ended. A never had epoch 2: it
  // answers with epoch 1, which ended at 2 on A.
  replica a{{{1, offset(0)}, {3, offset(2)}}, offset(3), offset(3)};
  replica b{{{1, offset(0)}, {2, offset(1)}}, offset(2), offset(1)};
  CHECK(a.answer(2) == epoch_end_offset{1, offset(2)});
  // Before KIP-279 the leader answered the end offset alone; B cut to 2 and
  // kept m2 at offset 1 where A has m1: the logs diverged for good.
  auto old_rule = next_truncation_step(b.epochs, b.log_end, b.high_watermark, 2,
                                       {epoch_end_offset::undefined_epoch, offset(2)});
  REQUIRE(old_rule);
  CHECK(old_rule->truncate_to == offset(2));
  // With the epoch in the answer B compares like with like: its epoch 1
  // ended at 1, so m2 goes.
  auto steps = reconcile(b, a);
  CHECK(steps.back() == truncation_step{offset(1), std::nullopt});
  CHECK(b.log_end == offset(1));
  CHECK(b.epochs == std::vector<epoch_entry>{{1, offset(0)}});
}

TEST_CASE(
    "a follower asks again about its own earlier epoch when the leader answers an epoch it "
    "never had (KIP-279 loop)") {
  // The follower led epoch 3 alone from 20; the leader had epochs 2 and 4,
  // which the follower never saw. The follower's epoch-1 records from 15 on
  // differ from the leader's epoch-2 records there.
  replica leader{
      {{0, offset(0)}, {1, offset(10)}, {2, offset(15)}, {4, offset(18)}}, offset(40), offset(40)};
  replica follower{{{0, offset(0)}, {1, offset(10)}, {3, offset(20)}}, offset(30), offset(12)};
  auto steps = reconcile(follower, leader);
  REQUIRE(steps.size() == 3);
  CHECK(steps[0] == truncation_step{offset(30), 3});
  // Leader: epoch 3 -> (2, 18). The follower has no epoch 2; its epoch 1
  // ended at 20: cut there and ask about epoch 1.
  CHECK(steps[1] == truncation_step{offset(20), 1});
  // Leader: epoch 1 -> (1, 15). Both have epoch 1: keep up to 15.
  CHECK(steps[2] == truncation_step{offset(15), std::nullopt});
  CHECK(follower.log_end == offset(15));
  CHECK(follower.epochs == std::vector<epoch_entry>{{0, offset(0)}, {1, offset(10)}});
  // Stopping after the first answer (KIP-101 alone) would have kept 15..17.
  auto kip101_only = std::min(leader.answer(3).end_offset, offset(30));
  CHECK(kip101_only == offset(18));
}

TEST_CASE("an undefined answer truncates to the high watermark") {
  // The leader's epochs start after the follower's (its older records were
  // written before it tracked epochs): it cannot say where epoch 5 ended.
  replica leader{{{6, offset(90)}}, offset(150), offset(150)};
  replica follower{{{5, offset(100)}}, offset(130), offset(120)};
  CHECK(leader.answer(5).undefined());
  auto steps = reconcile(follower, leader);
  CHECK(steps.back() == truncation_step{offset(120), std::nullopt});
  CHECK(follower.log_end == offset(120));
}

TEST_CASE("an undefined answer never moves the truncation past the log end") {
  auto step = next_truncation_step({}, offset(50), offset(80), 3, epoch_end_offset{});
  REQUIRE(step);
  CHECK(*step == truncation_step{offset(50), std::nullopt});
}

TEST_CASE("a leader epoch below every follower epoch truncates to the leader's end") {
  std::vector<epoch_entry> mine{{3, offset(50)}, {4, offset(60)}};
  auto step = next_truncation_step(mine, offset(70), offset(65), 4, {2, offset(55)});
  REQUIRE(step);
  CHECK(*step == truncation_step{offset(55), std::nullopt});
}

TEST_CASE("a follower ahead of the leader in the same epoch truncates to the leader's end of it") {
  // The follower fetched epoch 2 up to 25 from a leader that has since lost
  // 20..24 (it was not in the in-sync set) and the new leader moved on in 3.
  replica leader{{{0, offset(0)}, {2, offset(10)}, {3, offset(20)}}, offset(30), offset(30)};
  replica follower{{{0, offset(0)}, {2, offset(10)}}, offset(25), offset(18)};
  auto steps = reconcile(follower, leader);
  CHECK(steps.back() == truncation_step{offset(20), std::nullopt});
  CHECK(follower.log_end == offset(20));
}

TEST_CASE("a follower behind the leader in the same epoch truncates nothing") {
  replica leader{{{0, offset(0)}, {2, offset(10)}, {3, offset(20)}}, offset(30), offset(30)};
  replica follower{{{0, offset(0)}, {2, offset(10)}}, offset(15), offset(12)};
  auto steps = reconcile(follower, leader);
  CHECK(steps.back() == truncation_step{offset(15), std::nullopt});
  CHECK(follower.log_end == offset(15));
  CHECK(follower.epochs.size() == 2);
}

TEST_CASE("a follower with an empty log asks nothing and truncates nothing") {
  replica leader{{{0, offset(0)}, {1, offset(10)}}, offset(30), offset(30)};
  replica follower{{}, offset(0), offset(0)};
  auto steps = reconcile(follower, leader);
  REQUIRE(steps.size() == 1);
  CHECK(steps[0] == truncation_step{offset(0), std::nullopt});
  CHECK(follower.log_end == offset(0));
}

TEST_CASE("a follower with records but no epochs falls back to its high watermark") {
  replica leader{{{0, offset(0)}}, offset(30), offset(30)};
  replica follower{{}, offset(25), offset(20)};
  auto steps = reconcile(follower, leader);
  REQUIRE(steps.size() == 1);
  CHECK(steps[0] == truncation_step{offset(20), std::nullopt});
  CHECK(follower.log_end == offset(20));
}

TEST_CASE("an answer naming an epoch above the one asked is refused") {
  std::vector<epoch_entry> mine{{0, offset(0)}, {2, offset(10)}};
  auto step = next_truncation_step(mine, offset(20), offset(15), 2, {3, offset(12)});
  REQUIRE_FALSE(step);
  CHECK(step.error() == errc::invalid_argument);
  CHECK_THAT(step.detail(), Catch::Contains("epoch 3") && Catch::Contains("epoch 2"));
}
