#include <catch2/catch.hpp>

#include "actors/cluster/cluster_view.h"

using namespace actormq;
using namespace actormq::cluster;

TEST_CASE("cluster keys parse back to what they name", "[cluster]") {
  cluster_keys k("prod");
  CHECK(k.broker(7) == "/actormq/prod/brokers/7");
  CHECK(k.parse(k.broker(7)).what == cluster_keys::parsed::kind::broker);
  CHECK(k.parse(k.broker(7)).broker == 7);
  CHECK(k.parse(k.controller()).what == cluster_keys::parsed::kind::controller);
  auto t = k.parse(k.topic("orders.v2"));
  CHECK(t.what == cluster_keys::parsed::kind::topic);
  CHECK(t.topic == "orders.v2");
  auto p = k.parse(k.partition("orders.v2", 11));
  CHECK(p.what == cluster_keys::parsed::kind::partition);
  CHECK(p.topic == "orders.v2");
  CHECK(p.partition == 11);
}

TEST_CASE("keys of another cluster or of unknown shape are not ours", "[cluster]") {
  cluster_keys k("prod");
  using kind = cluster_keys::parsed::kind;
  CHECK(k.parse("/actormq/prodx/controller").what == kind::other);
  CHECK(k.parse("/actormq/test/brokers/1").what == kind::other);
  CHECK(k.parse("/actormq/prod/brokers/x").what == kind::other);
  CHECK(k.parse("/actormq/prod/brokers/-1").what == kind::other);
  CHECK(k.parse("/actormq/prod/partitions/t").what == kind::other);
  CHECK(k.parse("/actormq/prod/partitions/t/p").what == kind::other);
}

TEST_CASE("the view follows puts and erases of every kind of key", "[cluster]") {
  cluster_keys k("c");
  cluster_view v(k);
  broker_registration b{1, "127.0.0.1:9000", "127.0.0.1:9100", 5};
  CHECK(v.put(k.broker(1), b.encode()) == cluster_view::change::brokers);
  CHECK(v.put(k.controller(), "1") == cluster_view::change::controller);
  topic_config tc;
  tc.partitions = 2;
  tc.replication_factor = 1;
  CHECK(v.put(k.topic("t"), tc.encode()) == cluster_view::change::topics);
  partition_state ps;
  ps.leader = 1;
  ps.replicas = {1};
  ps.isr = {1};
  CHECK(v.put(k.partition("t", 1), ps.encode()) == cluster_view::change::partitions);

  CHECK(v.controller() == 1);
  REQUIRE(v.broker(1));
  CHECK(v.broker(1)->rpc_address == "127.0.0.1:9000");
  CHECK(v.topics().at("t").partitions == 2);
  REQUIRE(v.partition("t", 1));
  CHECK(v.partition("t", 1)->leader == 1);
  CHECK(v.partition("t", 0) == nullptr);

  CHECK(v.erase(k.broker(1)) == cluster_view::change::brokers);
  CHECK(v.live_brokers().empty());
  CHECK(v.erase(k.controller()) == cluster_view::change::controller);
  CHECK(v.controller() == no_broker);
  CHECK(v.erase(k.partition("t", 1)) == cluster_view::change::partitions);
  CHECK(v.partitions().empty());
}

TEST_CASE("a malformed value is counted and leaves the view as it was", "[cluster]") {
  cluster_keys k("c");
  cluster_view v(k);
  CHECK(v.put(k.controller(), "2") == cluster_view::change::controller);
  CHECK(v.put(k.controller(), "two") == cluster_view::change::none);
  CHECK(v.put(k.broker(3), "id = 4\nrpc = a:1\n") == cluster_view::change::none);  // id mismatch
  CHECK(v.put(k.partition("t", 0), "leader = 1\n") == cluster_view::change::none);
  CHECK(v.controller() == 2);
  CHECK(v.malformed() == 3);
}
