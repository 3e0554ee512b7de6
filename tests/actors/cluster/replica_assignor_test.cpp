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
