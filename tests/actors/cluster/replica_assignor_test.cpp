#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "actors/cluster/replica_assignor.h"

using namespace actormq::cluster;

TEST_CASE("replicas go round robin from the topic's start broker, preferred leader first",
          "[cluster]") {
  auto start = replica_assignor::start_of("orders") % 3;
  auto a = replica_assignor::assign("orders", 3, 2, {2, 0, 1});
  REQUIRE(a.size() == 3);
  for (uint32_t p = 0; p < 3; ++p) {
    CHECK(a[p] == std::vector<broker_id>{static_cast<broker_id>((start + p) % 3),
                                         static_cast<broker_id>((start + p + 1) % 3)});
  }
}

TEST_CASE("leaders spread evenly over the brokers", "[cluster]") {
  auto a = replica_assignor::assign("t", 12, 3, {10, 20, 30, 40});
  std::map<broker_id, int> leaders;
  for (auto& r : a) {
    REQUIRE(r.size() == 3);
    CHECK(std::set<broker_id>(r.begin(), r.end()).size() == 3);  // no broker twice
    ++leaders[r.front()];
  }
  for (auto b : {10, 20, 30, 40}) CHECK(leaders[b] == 3);
}

TEST_CASE("a replication factor above the broker count assigns nothing", "[cluster]") {
  CHECK(replica_assignor::assign("t", 3, 4, {0, 1, 2}).empty());
  CHECK(replica_assignor::assign("t", 3, 0, {0, 1, 2}).empty());
  CHECK(replica_assignor::assign("t", 3, 2, {1, 1}).empty());  // duplicates count once
}

TEST_CASE("a grown replica list keeps its replicas and adds brokers in the assignor's order",
          "[cluster]") {
  // What a topic created on {0,1} with 2 replicas gets once 2 and 3 are live.
  auto before = replica_assignor::assign("orders", 4, 2, {0, 1});
  auto fresh = replica_assignor::assign("orders", 4, 4, {0, 1, 2, 3});
  for (uint32_t p = 0; p < 4; ++p) {
    auto grown = replica_assignor::grow("orders", p, before[p], 3, {3, 2, 1, 0});
    REQUIRE(grown.size() == 3);
    CHECK(std::vector<broker_id>(grown.begin(), grown.begin() + 2) == before[p]);
    // The broker added is the first of the fresh placement's order that is
    // not a replica yet.
    broker_id expected = -1;
    for (auto b : fresh[p]) {
      if (b != before[p][0] && b != before[p][1]) {
        expected = b;
        break;
      }
    }
    CHECK(grown[2] == expected);
  }
}

TEST_CASE("a replica list at or above the target, or without brokers to add, stays as it is",
          "[cluster]") {
  CHECK(replica_assignor::grow("t", 0, {2, 0, 1}, 3, {0, 1, 2, 3}) ==
        std::vector<broker_id>{2, 0, 1});
  CHECK(replica_assignor::grow("t", 0, {1, 0}, 3, {0, 1}) == std::vector<broker_id>{1, 0});
  CHECK(replica_assignor::grow("t", 0, {1, 0}, 3, {}) == std::vector<broker_id>{1, 0});
  // A dead replica still counts; only live brokers are added.
  auto g = replica_assignor::grow("t", 0, {5}, 2, {0, 1});
  REQUIRE(g.size() == 2);
  CHECK(g[0] == 5);
  CHECK(g[1] != 5);
}
