// history: the checker's verdict over what was sent, acknowledged and read.

#include "history.h"

#include <catch2/catch.hpp>

using actormq::checker::history;
using actormq::checker::observation;

namespace {
const auto t0 = history::clock::time_point{} + std::chrono::seconds(100);
const auto ms = [](int n) { return std::chrono::milliseconds(n); };
}  // namespace

TEST_CASE("history passes a run where every acknowledged value is at its offset") {
  history h;
  h.sent("a", t0);
  h.sent("b", t0);
  h.acked("a", 0, 0, t0 + ms(1));
  h.acked("b", 1, 0, t0 + ms(2));
  auto r = h.check({{0, 0, "a"}, {1, 0, "b"}});
  CHECK(r.ok());
  CHECK(r.acked == 2);
  CHECK(r.read == 2);
  CHECK(r.lost == 0);
}

TEST_CASE("history counts an acknowledged value missing from the final read as lost") {
  history h;
  h.sent("a", t0);
  h.acked("a", 0, 5, t0);
  auto r = h.check({});
  CHECK_FALSE(r.ok());
  CHECK(r.lost == 1);
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].find("is gone") != std::string::npos);
}

TEST_CASE("history counts an acknowledged offset holding another value as lost and divergent") {
  history h;
  h.sent("a", t0);
  h.sent("b", t0);
  h.acked("a", 0, 0, t0);
  auto r = h.check({{0, 0, "b"}});
  CHECK(r.lost == 1);
  CHECK(r.divergent == 1);
  CHECK_FALSE(r.ok());
}

TEST_CASE("history flags one offset read with two values from different reads") {
  history h;
  h.sent("a", t0);
  h.sent("b", t0);
  h.observed({{2, 7, "a"}});
  auto r = h.check({{2, 7, "b"}});
  CHECK(r.divergent == 1);
  CHECK(r.lost == 0);
  CHECK_FALSE(r.ok());
}

TEST_CASE("history counts an unacknowledged retry stored twice as an allowed duplicate") {
  history h;
  h.sent("a", t0);
  h.failed("a", "delivery timeout", t0 + ms(5));
  auto r = h.check({{0, 0, "a"}, {0, 1, "a"}});
  CHECK(r.duplicates_unacked == 1);
  CHECK(r.duplicates_acked == 0);
  CHECK(r.failed == 1);
  CHECK(r.ok());
}

TEST_CASE("history fails an acknowledged value stored twice") {
  history h;
  h.sent("a", t0);
  h.acked("a", 0, 1, t0);
  auto r = h.check({{0, 0, "a"}, {0, 1, "a"}});
  CHECK(r.duplicates_acked == 1);
  CHECK_FALSE(r.ok());
}

TEST_CASE("history flags a value read that was never sent as phantom") {
  history h;
  auto r = h.check({{0, 0, "ghost"}});
  CHECK(r.phantom == 1);
  CHECK_FALSE(r.ok());
}

TEST_CASE("history measures the longest stretch without an acknowledgement") {
  history h;
  for (int i = 0; i < 3; ++i) h.sent(std::to_string(i), t0);
  h.acked("0", 0, 0, t0 + ms(100));
  h.acked("1", 0, 1, t0 + ms(1100));
  h.acked("2", 0, 2, t0 + ms(1300));
  CHECK(h.longest_gap(t0, t0 + ms(1500)) == ms(1000));
  // The stretch after the last ack counts too.
  CHECK(h.longest_gap(t0, t0 + ms(3000)) == ms(1700));
}

TEST_CASE("history measures the longest gap of one partition") {
  history h;
  // Partition 1 acks throughout; partition 0 stops for 900 ms (a failover).
  h.acked("a", 0, 0, t0 + ms(100));
  h.acked("b", 1, 0, t0 + ms(400));
  h.acked("c", 1, 1, t0 + ms(700));
  h.acked("d", 0, 1, t0 + ms(1000));
  h.acked("e", 1, 2, t0 + ms(1050));
  CHECK(h.longest_gap(t0, t0 + ms(1100)) == ms(300));
  CHECK(h.longest_gap(t0, t0 + ms(1100), 0u) == ms(900));
  CHECK(h.longest_gap(t0, t0 + ms(1100), 1u) == ms(400));
}

TEST_CASE("history counts acknowledgements by window send time and partition") {
  history h;
  h.sent("early", t0);
  h.sent("late", t0 + ms(500));
  h.acked("early", 0, 0, t0 + ms(600));
  h.acked("late", 1, 0, t0 + ms(700));
  CHECK(h.acks_between(t0, t0 + ms(1000), t0) == 2);
  CHECK(h.acks_between(t0, t0 + ms(1000), t0 + ms(400)) == 1);
  CHECK(h.acks_between(t0, t0 + ms(1000), t0, 0u) == 1);
  CHECK(h.acks_between(t0 + ms(650), t0 + ms(1000), t0) == 1);
}

TEST_CASE("history fails two acknowledged values of one producer stored out of send order") {
  history h;
  h.sent("p0-1", t0, "p0");
  h.sent("p0-2", t0, "p0");
  h.acked("p0-1", 0, 1, t0);
  h.acked("p0-2", 0, 0, t0);
  auto r = h.check({{0, 0, "p0-2"}, {0, 1, "p0-1"}});
  CHECK(r.reordered == 1);
  CHECK(r.lost == 0);
  CHECK_FALSE(r.ok());
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].find("sent before p0-2") != std::string::npos);
}

TEST_CASE("history keeps order per producer and partition only") {
  history h;
  // p0 and p1 interleave in partition 0; p0's values in partition 1 come
  // before its partition-0 ones: neither is a reorder.
  h.sent("p0-1", t0, "p0");
  h.sent("p1-1", t0, "p1");
  h.sent("p0-2", t0, "p0");
  h.sent("p1-2", t0, "p1");
  h.sent("p0-3", t0, "p0");
  h.acked("p1-1", 0, 0, t0);
  h.acked("p0-1", 0, 1, t0);
  h.acked("p1-2", 0, 2, t0);
  h.acked("p0-2", 0, 3, t0);
  h.acked("p0-3", 1, 0, t0);
  auto r =
      h.check({{0, 0, "p1-1"}, {0, 1, "p0-1"}, {0, 2, "p1-2"}, {0, 3, "p0-2"}, {1, 0, "p0-3"}});
  CHECK(r.reordered == 0);
  CHECK(r.ok());
}

TEST_CASE("history checks the order of acknowledged values only") {
  history h;
  h.sent("p0-1", t0, "p0");
  h.sent("p0-2", t0, "p0");
  h.sent("p0-3", t0, "p0");
  h.acked("p0-1", 0, 0, t0);
  h.acked("p0-3", 0, 3, t0);
  h.failed("p0-2", "delivery timeout", t0);
  // p0-2 failed (its fate unknown to the producer) and is stored after p0-3:
  // the producer's order holds for what it was told is stored.
  auto r = h.check({{0, 0, "p0-1"}, {0, 3, "p0-3"}, {0, 4, "p0-2"}});
  CHECK(r.reordered == 0);
  CHECK(r.ok());
}
