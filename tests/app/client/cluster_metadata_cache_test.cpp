// Unit: what the client knows of the cluster's leaders, no broker needed.
#include <catch2/catch.hpp>

#include <algorithm>

#include "app/client/src/cluster_metadata_cache.h"

using namespace actormq::client;
using detail::cluster_metadata_cache;
using status = detail::partition_route::status;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;
const clock_type::time_point t0 = clock_type::time_point{} + 1h;

partition_metadata part(uint32_t p, int32_t leader, int32_t epoch) {
  return {p, leader, epoch, {0, 1, 2}, {leader}};
}

broker_node alive_broker(int32_t id, std::string address) {
  broker_node b;
  b.id = id;
  b.address = std::move(address);
  b.alive = true;
  return b;
}

/// Three brokers, controller 1, topic "t" with partitions led by 0, 1, 2.
cluster_metadata three_brokers() {
  cluster_metadata m;
  m.cluster_id = "c";
  m.broker_id = 0;
  m.controller_id = 1;
  m.control_plane_up = true;
  m.brokers = {alive_broker(0, "h:1000"), alive_broker(1, "h:1001"), alive_broker(2, "h:1002")};
  topic_metadata t;
  t.name = "t";
  t.replication_factor = 3;
  t.partitions = {part(0, 0, 5), part(1, 1, 5), part(2, 2, 5)};
  m.topics.push_back(t);
  return m;
}

}  // namespace

TEST_CASE("metadata routes each partition to its leader's address", "[client][metadata]") {
  cluster_metadata_cache c;
  c.update(three_brokers(), t0);
  auto r = c.leader_of({"t", 1});
  REQUIRE(r.st == status::leader);
  CHECK(r.leader == 1);
  CHECK(r.leader_epoch == 5);
  CHECK(r.address == "h:1001");
  CHECK(c.leader_of({"t", 2}).address == "h:1002");
  CHECK(c.partition_count("t") == 3u);
  REQUIRE(c.controller());
  CHECK(c.controller()->address == "h:1001");
}

TEST_CASE("nothing is known of a topic before metadata about it", "[client][metadata]") {
  cluster_metadata_cache c;
  CHECK(c.leader_of({"t", 0}).st == status::unknown);
  c.update(three_brokers(), t0);
  CHECK(c.leader_of({"other", 0}).st == status::unknown);
  CHECK(c.leader_of({"t", 3}).st == status::unknown_partition);
}

TEST_CASE("a topic the cluster does not have is remembered with its error", "[client][metadata]") {
  cluster_metadata_cache c;
  auto m = three_brokers();
  topic_metadata missing;
  missing.name = "gone";
  missing.err = error(errc::unknown_topic, "no topic named 'gone'");
  m.topics.push_back(missing);
  c.update(m, t0);
  auto r = c.leader_of({"gone", 0});
  CHECK(r.st == status::unknown_topic);
  CHECK(r.err.is(errc::unknown_topic));
  CHECK_FALSE(c.partition_count("gone"));
  REQUIRE(c.topic_error("gone"));
}

TEST_CASE("a partition without a leader is offline", "[client][metadata]") {
  cluster_metadata_cache c;
  auto m = three_brokers();
  m.topics[0].partitions[2].leader = -1;
  c.update(m, t0);
  CHECK(c.leader_of({"t", 2}).st == status::offline);
}

TEST_CASE("a notLeader hint moves the partition at once and asks for metadata",
          "[client][metadata]") {
  cluster_metadata_cache c;
  c.update(three_brokers(), t0);
  CHECK_FALSE(c.refresh_due(t0 + 1s, 30s));
  c.apply_leader_hint({"t", 0}, 2, "");
  auto r = c.leader_of({"t", 0});
  CHECK(r.leader == 2);
  CHECK(r.address == "h:1002");
  CHECK(c.refresh_due(t0 + 1s, 30s));
}

TEST_CASE("a hint naming a broker not yet known brings its address", "[client][metadata]") {
  cluster_metadata_cache c;
  c.update(three_brokers(), t0);
  c.apply_leader_hint({"t", 0}, 7, "h:1007");
  CHECK(c.leader_of({"t", 0}).address == "h:1007");
  CHECK(c.address_of(7) == std::optional<std::string>("h:1007"));
}

TEST_CASE("a notLeader without a hint leaves the leader and makes the topic stale",
          "[client][metadata]") {
  cluster_metadata_cache c;
  c.update(three_brokers(), t0);
  c.apply_leader_hint({"t", 0}, -1, "");
  CHECK(c.leader_of({"t", 0}).leader == 0);
  CHECK(c.refresh_due(t0 + 1s, 30s));
  // A hint naming a broker without any address cannot be followed either.
  c.apply_leader_hint({"t", 1}, 9, "");
  CHECK(c.leader_of({"t", 1}).leader == 1);
}

TEST_CASE("a stale metadata answer does not move a leader back to an older epoch",
          "[client][metadata]") {
  cluster_metadata_cache c;
  auto m = three_brokers();
  m.topics[0].partitions[0] = part(0, 2, 6);
  c.update(m, t0);
  c.update(three_brokers(), t0 + 1s);  // a lagging broker: leader 0 at epoch 5
  auto r = c.leader_of({"t", 0});
  CHECK(r.leader == 2);
  CHECK(r.leader_epoch == 6);
  // A newer epoch is taken.
  m.topics[0].partitions[0] = part(0, 1, 7);
  c.update(m, t0 + 2s);
  CHECK(c.leader_of({"t", 0}).leader == 1);
}

TEST_CASE("metadata is refreshed after its max age", "[client][metadata]") {
  cluster_metadata_cache c;
  CHECK(c.refresh_due(t0, 30s));  // nothing known yet
  c.update(three_brokers(), t0);
  CHECK_FALSE(c.refresh_due(t0 + 29s, 30s));
  CHECK(c.refresh_due(t0 + 30s, 30s));
}

TEST_CASE("metadata refreshes are rate limited", "[client][metadata]") {
  cluster_metadata_cache c(100ms);
  c.update(three_brokers(), t0);
  c.note_attempt(t0);
  c.invalidate("t");
  CHECK_FALSE(c.refresh_allowed(t0 + 50ms));
  CHECK_FALSE(c.refresh_due(t0 + 50ms, 30s));
  CHECK(c.refresh_due(t0 + 100ms, 30s));
}

TEST_CASE("a tracked topic is asked about in the next refresh", "[client][metadata]") {
  cluster_metadata_cache c;
  c.update(three_brokers(), t0);
  c.track("new");
  auto names = c.topics();
  CHECK(std::find(names.begin(), names.end(), "new") != names.end());
  CHECK(std::find(names.begin(), names.end(), "t") != names.end());
  CHECK(c.refresh_due(t0 + 1s, 30s));
}

TEST_CASE("a notController hint names the new controller", "[client][metadata]") {
  cluster_metadata_cache c;
  c.update(three_brokers(), t0);
  c.apply_controller_hint(2, "");
  REQUIRE(c.controller());
  CHECK(c.controller()->id == 2);
  c.apply_controller_hint(-1, "");
  CHECK(c.refresh_due(t0 + 1s, 30s));
}

TEST_CASE("without a controller there is nowhere to send topic changes", "[client][metadata]") {
  cluster_metadata_cache c;
  CHECK_FALSE(c.controller());
  auto m = three_brokers();
  m.controller_id = -1;
  c.update(m, t0);
  CHECK_FALSE(c.controller());
}
