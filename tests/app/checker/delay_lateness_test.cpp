// delay_lateness: kill-delay-owner's verdict over the delayed messages, the
// final read and the faults (app/checker/delay_workload.h).

#include <catch2/catch.hpp>

#include "delay_workload.h"

using actormq::checker::delay_fault;
using actormq::checker::delay_lateness;
using actormq::checker::delayed_message;
using actormq::checker::lateness_of;

namespace {

delayed_message acked_msg(const std::string& v, int64_t due, int64_t seen) {
  delayed_message m;
  m.value = v;
  m.st = delayed_message::state::acked;
  m.deliver_at_ms = due;
  m.acked_ms = due - 1000;
  m.seen_ms = seen;
  return m;
}

}  // namespace

TEST_CASE("delay verdict passes messages each stored once and read after their deliver-at") {
  std::vector<delayed_message> msgs = {acked_msg("d0", 1000, 1010), acked_msg("d1", 2000, 2030)};
  auto v = delay_lateness(msgs, {{"d0", 1}, {"d1", 1}}, {}, 50, 5);
  CHECK(v.acked == 2);
  CHECK(v.delivered == 2);
  CHECK(v.missing == 0);
  CHECK(v.duplicates == 0);
  CHECK(v.early == 0);
  CHECK(v.problems.empty());
  CHECK(v.rest.count == 2);
  CHECK(v.rest.max == 30);
}

TEST_CASE("delay verdict counts an acknowledged message absent from the topic as missing") {
  auto v = delay_lateness({acked_msg("d0", 1000, -1)}, {}, {}, 50, 5);
  CHECK(v.missing == 1);
  REQUIRE(v.problems.size() == 1);
  CHECK(v.problems[0].find("never delivered") != std::string::npos);
}

TEST_CASE("delay verdict counts a message stored twice as a duplicate, acknowledged or not") {
  auto failed = acked_msg("d1", 1000, 1005);
  failed.st = delayed_message::state::maybe;
  auto v = delay_lateness({acked_msg("d0", 1000, 1005), failed}, {{"d0", 2}, {"d1", 2}}, {}, 50, 5);
  CHECK(v.duplicates == 2);
  CHECK(v.maybe == 1);
  CHECK(v.maybe_delivered == 1);
}

TEST_CASE("delay verdict counts a read before deliver-at beyond the tolerance as early") {
  auto v = delay_lateness({acked_msg("d0", 1000, 996), acked_msg("d1", 1000, 990)},
                          {{"d0", 1}, {"d1", 1}}, {}, 50, 5);
  CHECK(v.early == 1);
}

TEST_CASE("delay verdict judges messages due during a failover apart from the rest") {
  // Killed at 10000, deliveries back 1500 ms later: due at 9960 (within the
  // steady bound before the kill) and 10400 wait for the new owner.
  std::vector<delayed_message> msgs = {
      acked_msg("before", 9000, 9010), acked_msg("just-before", 9960, 11500),
      acked_msg("during", 10400, 11501), acked_msg("after", 12000, 12020)};
  auto v = delay_lateness(msgs, {{"before", 1}, {"just-before", 1}, {"during", 1}, {"after", 1}},
                          {delay_fault{10000, 1500}}, 50, 5);
  CHECK(v.during.count == 2);
  CHECK(v.during.max == 1540);
  CHECK(v.rest.count == 2);
  CHECK(v.rest.max == 20);
}

TEST_CASE("delay verdict leaves messages acknowledged after their due time out of lateness") {
  auto late = acked_msg("d0", 1000, 5000);
  late.sent_late = true;
  auto v = delay_lateness({late}, {{"d0", 1}}, {}, 50, 5);
  CHECK(v.delivered == 1);
  CHECK(v.sent_late == 1);
  CHECK(v.all.count == 0);
}

TEST_CASE("lateness percentiles are nearest-rank") {
  std::vector<int64_t> v;
  for (int64_t i = 1; i <= 200; ++i) v.push_back(201 - i);
  auto s = lateness_of(v);
  CHECK(s.count == 200);
  CHECK(s.p50 == 100);
  CHECK(s.p99 == 198);
  CHECK(s.max == 200);
  CHECK(lateness_of({}).count == 0);
}
