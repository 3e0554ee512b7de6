// produce_throttle: the token buckets behind per-topic produce quotas
// (docs/operations.md, "Throttle a flooding producer"), on a simulated
// clock.

#include <catch2/catch.hpp>

#include "actors/session/produce_throttle.h"

using namespace actormq;
using namespace std::chrono_literals;
using clock_type = produce_throttle::clock;

namespace {

double seconds_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

/// A producer that sends the next request the moment the previous one is
/// let through, for `span` of simulated time: the bytes it got through.
int64_t flood(produce_throttle& t, clock_type::time_point start, std::chrono::seconds span,
              int64_t byte_rate, int64_t message_rate, int64_t bytes, int64_t messages) {
  int64_t passed = 0;
  auto now = start;
  while (now < start + span) {
    now = t.admit(now, byte_rate, message_rate, bytes, messages);
    if (now < start + span) passed += bytes;
  }
  return passed;
}

}  // namespace

TEST_CASE("without a rate every request passes at once") {
  produce_throttle t{1000ms, 10000ms};
  auto now = clock_type::now();
  for (int i = 0; i < 1000; ++i) CHECK(t.admit(now, 0, 0, 1 << 20, 1000) == now);
}

TEST_CASE("a producer idle a while sends one burst at once then waits its debt") {
  produce_throttle t{1000ms, 10000ms};
  auto now = clock_type::now();
  // 100 kB/s with a 1 s burst: ten 10 kB requests pass now.
  for (int i = 0; i < 10; ++i) CHECK(t.admit(now, 100000, 0, 10000, 1) == now);
  // The eleventh is 10 kB in debt: 0.1 s; the twelfth 0.2 s.
  CHECK(seconds_between(now, t.admit(now, 100000, 0, 10000, 1)) == Approx(0.1));
  CHECK(seconds_between(now, t.admit(now, 100000, 0, 10000, 1)) == Approx(0.2));
}

TEST_CASE("a flooding producer gets the byte rate plus one burst") {
  produce_throttle t{1000ms, 10000ms};
  auto start = clock_type::now();
  auto passed = flood(t, start, 20s, 200000, 0, 16384, 16);
  // 20 s at 200 kB/s plus the 200 kB burst, within one request.
  CHECK(passed == Approx(20 * 200000 + 200000).margin(16384));
}

TEST_CASE("a flooding producer of small messages gets the message rate") {
  produce_throttle t{1000ms, 10000ms};
  auto start = clock_type::now();
  // 100 messages of 100 B per request, 500 messages/s: 5 requests/s.
  auto passed = flood(t, start, 20s, 0, 500, 10000, 100);
  CHECK(passed / 10000 == Approx((20 * 500 + 500) / 100).margin(1));
}

TEST_CASE("the tighter of the byte and message rates holds") {
  produce_throttle t{1000ms, 10000ms};
  auto start = clock_type::now();
  // 1 MB/s would allow 100 requests/s; 100 messages/s allows 1.
  auto passed = flood(t, start, 10s, 1000000, 100, 10000, 100);
  CHECK(passed / 10000 == Approx(10 + 1).margin(1));
}

TEST_CASE("release times follow request order for any mix of sizes") {
  produce_throttle t{1000ms, 10000ms};
  auto now = clock_type::now();
  auto last = now;
  int64_t sizes[] = {50000, 10, 300000, 1, 80000, 5, 120000};
  for (int round = 0; round < 20; ++round) {
    for (auto s : sizes) {
      auto at = t.admit(now, 100000, 0, s, 1);
      CHECK(at >= last);
      last = at;
      now += 7ms;  // arriving faster than they are let through
    }
  }
}

TEST_CASE("one request larger than rate times max delay waits max delay") {
  produce_throttle t{1000ms, 10000ms};
  auto now = clock_type::now();
  t.admit(now, 1000, 0, 1000, 1);  // the burst, spent
  // 1 MB at 1 kB/s would be 1000 s: held 10 s, and the debt beyond is
  // forgiven, so the next small one waits about as long, not 1000 s.
  CHECK(seconds_between(now, t.admit(now, 1000, 0, 1000000, 1)) == Approx(10.0));
  CHECK(seconds_between(now, t.admit(now, 1000, 0, 10, 1)) == Approx(10.0));
}

TEST_CASE("a removed rate lets requests through and a new one starts with a full bucket") {
  produce_throttle t{1000ms, 10000ms};
  auto now = clock_type::now();
  for (int i = 0; i < 5; ++i) t.admit(now, 1000, 0, 1000, 1);  // 4 s in debt
  CHECK(t.admit(now, 0, 0, 1000, 1) == now);                   // quota removed
  CHECK(t.admit(now, 1000, 0, 1000, 1) == now);                // set again: a full burst
  CHECK(t.admit(now, 1000, 0, 1000, 1) > now);
}

TEST_CASE("idle time refills the bucket up to one burst only") {
  produce_throttle t{1000ms, 10000ms};
  auto now = clock_type::now();
  t.admit(now, 1000, 0, 1000, 1);
  now += 3600s;  // an hour idle: still only 1 s worth
  CHECK(t.admit(now, 1000, 0, 1000, 1) == now);
  CHECK(seconds_between(now, t.admit(now, 1000, 0, 1000, 1)) == Approx(1.0));
}
