#include <catch2/catch.hpp>

#include "actors/cluster/leader_election.h"

using namespace actormq::cluster;

namespace {
partition_state state(broker_id leader, int32_t epoch, std::vector<broker_id> replicas,
                      std::vector<broker_id> isr) {
  partition_state s;
  s.leader = leader;
  s.leader_epoch = epoch;
  s.replicas = std::move(replicas);
  s.isr = std::move(isr);
  return s;
}
}  // namespace

TEST_CASE("a live leader with every in-sync replica alive changes nothing", "[cluster]") {
  auto s = state(1, 3, {1, 2, 0}, {1, 2});
  CHECK_FALSE(leader_election::on_live_brokers(s, {0, 1, 2}));
}

TEST_CASE("a dead follower leaves the in-sync set without a new epoch", "[cluster]") {
  auto next = leader_election::on_live_brokers(state(1, 3, {1, 2, 0}, {1, 2, 0}), {0, 1});
  REQUIRE(next);
  CHECK(next->leader == 1);
  CHECK(next->leader_epoch == 3);
  CHECK(next->isr == std::vector<broker_id>{1, 0});
}

TEST_CASE("a dead leader is replaced by the first live in-sync replica in preference order",
          "[cluster]") {
  auto next = leader_election::on_live_brokers(state(1, 3, {1, 2, 0}, {1, 0, 2}), {0, 2});
  REQUIRE(next);
  CHECK(next->leader == 2);
  CHECK(next->leader_epoch == 4);
  CHECK(next->isr == std::vector<broker_id>{0, 2});
}

TEST_CASE("a live replica outside the in-sync set is never elected", "[cluster]") {
  auto next = leader_election::on_live_brokers(state(1, 3, {1, 2}, {1}), {2});
  REQUIRE(next);
  CHECK(next->leader == no_broker);
  CHECK(next->leader_epoch == 4);
  CHECK(next->isr == std::vector<broker_id>{1});  // the last claim is kept
}

TEST_CASE("an offline partition is led again when its last in-sync replica returns", "[cluster]") {
  auto offline = state(no_broker, 4, {1, 2}, {1});
  CHECK_FALSE(leader_election::on_live_brokers(offline, {2}));
  auto next = leader_election::on_live_brokers(offline, {1, 2});
  REQUIRE(next);
  CHECK(next->leader == 1);
  CHECK(next->leader_epoch == 5);
  CHECK(next->isr == std::vector<broker_id>{1});
}

TEST_CASE("a one-replica partition goes offline with its broker and back with it", "[cluster]") {
  auto s = state(0, 0, {0}, {0});
  auto down = leader_election::on_live_brokers(s, {1, 2});
  REQUIRE(down);
  CHECK(down->leader == no_broker);
  CHECK(down->isr == std::vector<broker_id>{0});
  auto up = leader_election::on_live_brokers(*down, {0, 1, 2});
  REQUIRE(up);
  CHECK(up->leader == 0);
  CHECK(up->leader_epoch == 2);
}
