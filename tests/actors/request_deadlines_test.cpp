#include "actors/request_deadlines.h"

#include <catch2/catch.hpp>
#include <vector>

using actormq::request_deadlines;
using namespace std::chrono_literals;

namespace {
const auto t0 = request_deadlines::clock::time_point{} + 1000s;
}

TEST_CASE("a response settles its ticket once and removes the entry at once",
          "[request_deadlines]") {
  request_deadlines d;
  int timeouts = 0;
  auto t = d.add(t0 + 30s, [&] { ++timeouts; });
  REQUIRE(d.size() == 1);
  REQUIRE(t.settle());
  REQUIRE(d.empty());  // no memory held until the deadline
  REQUIRE_FALSE(t.settle());
  REQUIRE(d.expire(t0 + 60s) == 0);
  REQUIRE(timeouts == 0);
}

TEST_CASE("an unanswered request times out at its deadline and not before", "[request_deadlines]") {
  request_deadlines d;
  std::vector<int> fired;
  auto a = d.add(t0 + 10s, [&] { fired.push_back(1); });
  auto b = d.add(t0 + 5s, [&] { fired.push_back(2); });
  auto c = d.add(t0 + 20s, [&] { fired.push_back(3); });
  REQUIRE(d.expire(t0 + 4s) == 0);
  REQUIRE(d.expire(t0 + 10s) == 2);
  REQUIRE(fired == std::vector<int>{2, 1});  // deadline order, not add order
  // The late response loses: the caller was already answered by the timeout.
  REQUIRE_FALSE(a.settle());
  REQUIRE_FALSE(b.settle());
  REQUIRE(d.size() == 1);
  REQUIRE(c.settle());
  REQUIRE(d.expire(t0 + 100s) == 0);
  REQUIRE(fired.size() == 2);
}

TEST_CASE("a timeout handler may add a new request while expiring", "[request_deadlines]") {
  request_deadlines d;
  int second = 0;
  d.add(t0 + 1s, [&] { d.add(t0 + 2s, [&] { ++second; }); });
  REQUIRE(d.expire(t0 + 1s) == 1);
  REQUIRE(d.size() == 1);
  REQUIRE(d.expire(t0 + 2s) == 1);
  REQUIRE(second == 1);
}

TEST_CASE("tickets follow their entries when the deadlines move", "[request_deadlines]") {
  request_deadlines a;
  auto t = a.add(t0 + 1s, [] {});
  request_deadlines b(std::move(a));
  REQUIRE(b.size() == 1);
  REQUIRE(t.settle());
  REQUIRE(b.empty());
}

TEST_CASE("a ticket outliving its deadlines still settles once without touching them",
          "[request_deadlines]") {
  request_deadlines::ticket t;
  {
    request_deadlines d;
    t = d.add(t0 + 1s, [] {});
  }
  REQUIRE(t.settle());
  REQUIRE_FALSE(t.settle());
}

TEST_CASE("a default ticket is already settled", "[request_deadlines]") {
  request_deadlines::ticket t;
  REQUIRE(t.settled());
  REQUIRE_FALSE(t.settle());
}
