// Integration: brokers form one cluster on a real etcd (app/broker/cluster).
// Real processes on 127.0.0.1; the client side speaks the raw protocol here
// so that each redirect and error is seen as the broker sends it.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "fixtures.h"
#include "raw_client.h"
#include "storage/record_batch_builder.h"
#include "support/cluster_process.h"

using namespace actormq;
using namespace std::chrono_literals;

namespace {

struct partition_view {
  int32_t leader = -1;
  int32_t epoch = 0;
  std::vector<int32_t> replicas;
};

struct metadata_view {
  bool ok = false;
  int32_t broker = -1;
  int32_t controller = -1;
  bool up = false;
  std::map<int32_t, std::string> brokers;
  std::map<std::string, std::vector<partition_view>> topics;
};

metadata_view metadata_of(test::broker_process& b) {
  metadata_view v;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() {
                 test::raw_client rc(b.address());
                 auto req = rc.broker().metadataRequest();
                 auto resp = req.send().wait(rc.ws());
                 auto m = resp.getMetadata();
                 v.broker = m.getBrokerId();
                 v.controller = m.getControllerId();
                 v.up = m.getControlPlaneUp();
                 for (auto n : m.getBrokers()) v.brokers[n.getId()] = n.getAddress().cStr();
                 for (auto t : m.getTopics()) {
                   auto& ps = v.topics[t.getName().cStr()];
                   for (auto p : t.getPartitions()) {
                     partition_view pv;
                     pv.leader = p.getLeader();
                     pv.epoch = p.getLeaderEpoch();
                     for (auto r : p.getReplicas()) pv.replicas.push_back(r);
                     ps.push_back(pv);
                   }
                 }
                 v.ok = true;
               })) {
    (void)e;
  }
  return v;
}

struct reply {
  rpc::ErrorCode code = rpc::ErrorCode::NONE;
  std::string message;
  int32_t leader_id = -1;
  std::string leader_address;
};

reply create_topic(test::broker_process& b, const std::string& name, uint32_t partitions,
                   uint32_t rf = 1) {
  test::raw_client rc(b.address());
  auto req = rc.broker().createTopicRequest();
  req.setName(name);
  req.initConfig().setPartitions(partitions);
  req.getConfig().setReplicationFactor(rf);
  auto resp = req.send().wait(rc.ws());
  auto e = resp.getError();
  return {e.getCode(), e.getMessage().cStr(), e.getLeaderId(), e.getLeaderAddress().cStr()};
}

std::string one_record(const std::string& v) {
  storage::record_batch_builder b;
  b.add(std::string_view("k"), v, storage::timestamp_ms(1));
  return b.build();
}

reply produce(const std::string& address, const std::string& topic, uint32_t p,
              const std::string& value) {
  test::raw_client rc(address);
  auto req = rc.broker().produceRequest();
  req.setTopic(topic);
  req.setPartition(p);
  req.setAcks(rpc::Acks::LEADER);
  auto batch = one_record(value);
  req.setBatch(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(batch.data()), batch.size()));
  auto resp = req.send().wait(rc.ws());
  auto e = resp.getError();
  return {e.getCode(), e.getMessage().cStr(), e.getLeaderId(), e.getLeaderAddress().cStr()};
}

/// Index of the broker process that is the controller, or -1.
int controller_index(test::cluster_process& c) {
  for (size_t i = 0; i < c.size(); ++i) {
    if (!c.broker(i).running()) continue;
    auto m = metadata_of(c.broker(i));
    if (m.ok && m.controller >= 0) return m.controller;  // broker i has id i
  }
  return -1;
}

void require_formed(test::cluster_process& c, size_t n) {
  INFO(c.error());
  REQUIRE(c.start(static_cast<int>(n)));
  REQUIRE(test::eventually(
      [&] {
        for (size_t i = 0; i < n; ++i) {
          auto m = metadata_of(c.broker(i));
          if (!m.ok || m.brokers.size() != n || m.controller < 0) return false;
        }
        return true;
      },
      15s));
}

}  // namespace

TEST_CASE("three brokers form a cluster with one controller that every broker reports",
          "[app][cluster]") {
  test::cluster_process c;
  require_formed(c, 3);
  std::set<int32_t> controllers;
  for (size_t i = 0; i < 3; ++i) {
    auto m = metadata_of(c.broker(i));
    CHECK(m.broker == static_cast<int32_t>(i));
    CHECK(m.up);
    CHECK(m.brokers.at(static_cast<int32_t>(i)) == c.broker(i).address());
    controllers.insert(m.controller);
  }
  CHECK(controllers.size() == 1);
}

TEST_CASE(
    "a topic is created at the controller, redirected from the others, and served by "
    "its leaders",
    "[app][cluster]") {
  test::cluster_process c;
  require_formed(c, 3);
  int ctl = controller_index(c);
  REQUIRE(ctl >= 0);
  int other = (ctl + 1) % 3;

  auto refused = create_topic(c.broker(other), "orders", 6);
  CHECK(refused.code == rpc::ErrorCode::NOT_CONTROLLER);
  CHECK(refused.leader_id == ctl);
  CHECK(refused.leader_address == c.broker(ctl).address());

  auto made = create_topic(c.broker(ctl), "orders", 6);
  INFO(made.message);
  REQUIRE(made.code == rpc::ErrorCode::NONE);
  CHECK(create_topic(c.broker(ctl), "orders", 6).code == rpc::ErrorCode::TOPIC_EXISTS);

  // Every broker learns the topic; the six leaders are spread over all three.
  metadata_view m;
  REQUIRE(test::eventually([&] {
    for (size_t i = 0; i < 3; ++i) {
      m = metadata_of(c.broker(i));
      if (!m.ok || m.topics["orders"].size() != 6) return false;
    }
    return true;
  }));
  std::map<int32_t, int> per_leader;
  for (auto& p : m.topics["orders"]) ++per_leader[p.leader];
  CHECK(per_leader.size() == 3);

  // Each partition takes a produce at its leader (once the leader holds the
  // topic locally) and refuses it elsewhere with the leader as hint.
  for (uint32_t p = 0; p < 6; ++p) {
    int32_t leader = m.topics["orders"][p].leader;
    auto& at = c.broker(static_cast<size_t>(leader));
    reply r;
    REQUIRE(test::eventually([&] {
      r = produce(at.address(), "orders", p, "v" + std::to_string(p));
      return r.code == rpc::ErrorCode::NONE;
    }));
    auto wrong =
        produce(c.broker(static_cast<size_t>((leader + 1) % 3)).address(), "orders", p, "x");
    CHECK(wrong.code == rpc::ErrorCode::NOT_LEADER);
    CHECK(wrong.leader_id == leader);
    CHECK(wrong.leader_address == at.address());
  }
}

TEST_CASE("a replication factor above the live brokers is refused", "[app][cluster]") {
  test::cluster_process c;
  require_formed(c, 2);
  int ctl = controller_index(c);
  REQUIRE(ctl >= 0);
  auto r = create_topic(c.broker(static_cast<size_t>(ctl)), "wide", 1, 3);
  CHECK(r.code == rpc::ErrorCode::NOT_ENOUGH_REPLICAS);
  CHECK(create_topic(c.broker(static_cast<size_t>(ctl)), "fits", 2, 2).code ==
        rpc::ErrorCode::NONE);
}

namespace {

/// What kill_controller saw.
struct controller_kill {
  int killed = -1;    ///< the controller's index, SIGKILLed
  int survivor = -1;  ///< the broker asked afterwards
  int next = -1;      ///< the new controller
  std::chrono::steady_clock::duration took{};
};

/// Forms a 3-broker cluster, SIGKILLs its controller and waits (up to
/// bound) until a survivor's metadata shows the killed broker gone and
/// another controller.
controller_kill kill_controller(test::cluster_process& c, std::chrono::seconds bound) {
  require_formed(c, 3);
  controller_kill k;
  k.killed = controller_index(c);
  REQUIRE(k.killed >= 0);
  c.broker(static_cast<size_t>(k.killed)).stop(true);
  auto at = std::chrono::steady_clock::now();
  k.survivor = (k.killed + 1) % 3;
  REQUIRE(test::eventually(
      [&] {
        auto m = metadata_of(c.broker(static_cast<size_t>(k.survivor)));
        k.next = m.controller;
        return m.ok && !m.brokers.count(k.killed) && k.next >= 0 && k.next != k.killed;
      },
      bound));
  k.took = std::chrono::steady_clock::now() - at;
  return k;
}

}  // namespace

TEST_CASE("a SIGKILLed controller is replaced within the lease TTL plus a second",
          "[app][cluster]") {
  test::cluster_process c(2000);
  auto k = kill_controller(c, 10s);
  CHECK(k.took <= 2000ms + 1000ms + 500ms);  // TTL + 1 s, and the polling step
  // The new controller creates topics.
  auto r = create_topic(c.broker(static_cast<size_t>(k.next)), "after", 2);
  INFO(r.message);
  CHECK(r.code == rpc::ErrorCode::NONE);
}

TEST_CASE("a SIGKILLed controller is replaced at once when its port refuses, long before its TTL",
          "[app][cluster]") {
  // A 20 s lease: only the crash fast path (the peers see the connection
  // close and the cluster port refuse, and revoke the dead broker's lease)
  // can make this quick.
  test::cluster_process c(20000);
  auto k = kill_controller(c, 15s);
  CHECK(k.took <= 5s);  // typically 0.1-0.3 s; the lease alone would take 13-20 s
  // Restarted on its data dir, it joins again.
  REQUIRE(c.broker(static_cast<size_t>(k.killed)).restart(false));
  REQUIRE(test::eventually(
      [&] {
        auto m = metadata_of(c.broker(static_cast<size_t>(k.survivor)));
        return m.ok && m.brokers.count(k.killed);
      },
      15s));
}

TEST_CASE(
    "a one-replica partition goes offline with its broker and comes back when it "
    "restarts",
    "[app][cluster]") {
  test::cluster_process c(2000);
  require_formed(c, 3);
  int ctl = controller_index(c);
  REQUIRE(create_topic(c.broker(static_cast<size_t>(ctl)), "solo", 3).code == rpc::ErrorCode::NONE);
  metadata_view m;
  REQUIRE(test::eventually([&] {
    m = metadata_of(c.broker(static_cast<size_t>(ctl)));
    return m.topics["solo"].size() == 3;
  }));
  // A broker other than the controller, and one of its partitions.
  int victim = (ctl + 1) % 3;
  uint32_t p = 0;
  while (p < 3 && m.topics["solo"][p].leader != victim) ++p;
  if (p == 3) {
    victim = (ctl + 2) % 3;
    p = 0;
    while (p < 3 && m.topics["solo"][p].leader != victim) ++p;
  }
  REQUIRE(p < 3);
  auto& vb = c.broker(static_cast<size_t>(victim));
  REQUIRE(test::eventually(
      [&] { return produce(vb.address(), "solo", p, "before").code == rpc::ErrorCode::NONE; }));
  int32_t epoch = m.topics["solo"][p].epoch;

  vb.stop(true);
  REQUIRE(test::eventually(
      [&] {
        auto v = metadata_of(c.broker(static_cast<size_t>(ctl)));
        return v.ok && !v.brokers.count(victim) && v.topics["solo"][p].leader == -1;
      },
      10s));
  auto offline = produce(c.broker(static_cast<size_t>(ctl)).address(), "solo", p, "x");
  CHECK(offline.code == rpc::ErrorCode::NOT_LEADER);
  CHECK(offline.leader_id == -1);

  // Restarted on its data dir, it takes over its own registration at once
  // and leads its partition again, with a new epoch and its data.
  bool restarted = vb.restart(false);
  INFO(vb.error());
  REQUIRE(restarted);
  REQUIRE(test::eventually(
      [&] {
        auto v = metadata_of(c.broker(static_cast<size_t>(ctl)));
        return v.ok && v.topics["solo"][p].leader == victim && v.topics["solo"][p].epoch > epoch;
      },
      10s));
  REQUIRE(test::eventually(
      [&] { return produce(vb.address(), "solo", p, "after").code == rpc::ErrorCode::NONE; }));
}

TEST_CASE("a SIGSTOPped broker is declared dead within the lease TTL plus a second",
          "[app][cluster]") {
  test::cluster_process c(2000);
  require_formed(c, 3);
  int ctl = controller_index(c);
  int frozen = (ctl + 1) % 3;
  c.broker(static_cast<size_t>(frozen)).pause();
  auto at = std::chrono::steady_clock::now();
  REQUIRE(test::eventually(
      [&] {
        auto v = metadata_of(c.broker(static_cast<size_t>(ctl)));
        return v.ok && !v.brokers.count(frozen);
      },
      10s));
  CHECK(std::chrono::steady_clock::now() - at <= 3500ms);
  // Thawed, it notices its lease is gone and registers again.
  c.broker(static_cast<size_t>(frozen)).resume();
  REQUIRE(test::eventually(
      [&] {
        auto v = metadata_of(c.broker(static_cast<size_t>(ctl)));
        return v.ok && v.brokers.count(frozen);
      },
      10s));
}

TEST_CASE("a second broker with an id already live refuses to start", "[app][cluster]") {
  test::cluster_process c;
  require_formed(c, 1);
  test::broker_process dup(c.args_for(0));
  CHECK_FALSE(dup.start("127.0.0.1:0", 15s));
  CHECK(dup.error().find("already registered") != std::string::npos);
}

TEST_CASE("a broker that cannot reach etcd at start exits with a clear error", "[app][cluster]") {
  test::broker_process b({"--cluster-id", "x", "--broker-id", "0", "--etcd", "http://127.0.0.1:1"});
  CHECK_FALSE(b.start("127.0.0.1:0", 15s));
  CHECK(b.error().find("cannot reach etcd") != std::string::npos);
  CHECK(b.last_status() == 1);
}

TEST_CASE("with etcd down brokers keep serving their partitions and refuse topic changes",
          "[app][cluster]") {
  test::cluster_process c;
  require_formed(c, 2);
  int ctl = controller_index(c);
  auto& cb = c.broker(static_cast<size_t>(ctl));
  REQUIRE(create_topic(cb, "steady", 2).code == rpc::ErrorCode::NONE);
  metadata_view m;
  REQUIRE(test::eventually([&] {
    m = metadata_of(cb);
    return m.topics["steady"].size() == 2;
  }));
  auto leader_of = [&](uint32_t p) {
    return c.broker(static_cast<size_t>(m.topics["steady"][p].leader)).address();
  };
  // Both partitions led and taking writes before etcd goes (re-reading
  // the metadata: a leader named right after the create may still move).
  REQUIRE(test::eventually([&] {
    m = metadata_of(cb);
    return m.topics["steady"].size() == 2 && m.topics["steady"][0].leader >= 0 &&
           m.topics["steady"][1].leader >= 0 &&
           produce(leader_of(0), "steady", 0, "a").code == rpc::ErrorCode::NONE &&
           produce(leader_of(1), "steady", 1, "a").code == rpc::ErrorCode::NONE;
  }));

  c.etcd().stop();
  REQUIRE(test::eventually([&] { return !metadata_of(cb).up; }, 10s));
  CHECK(produce(leader_of(0), "steady", 0, "b").code == rpc::ErrorCode::NONE);
  CHECK(produce(leader_of(1), "steady", 1, "b").code == rpc::ErrorCode::NONE);
  auto refused = create_topic(cb, "later", 1);
  CHECK(refused.code == rpc::ErrorCode::CLUSTER_UNAVAILABLE);

  REQUIRE(c.etcd().restart());
  REQUIRE(test::eventually([&] { return metadata_of(cb).up; }, 15s));
  int now_ctl = -1;
  REQUIRE(test::eventually([&] { return (now_ctl = controller_index(c)) >= 0; }, 15s));
  reply r;
  REQUIRE(test::eventually(
      [&] {
        r = create_topic(c.broker(static_cast<size_t>(now_ctl)), "later", 1);
        return r.code == rpc::ErrorCode::NONE || r.code == rpc::ErrorCode::TOPIC_EXISTS;
      },
      15s));
}

TEST_CASE("every broker names the same group coordinator and the others refuse the group",
          "[app][cluster]") {
  test::cluster_process c;
  require_formed(c, 3);
  std::set<int32_t> named;
  std::string address;
  // The controller creates __consumer_offsets once the three are live.
  REQUIRE(test::eventually([&] {
    named.clear();
    for (size_t i = 0; i < 3; ++i) {
      test::raw_client rc(c.broker(i).address());
      auto req = rc.broker().findCoordinatorRequest();
      req.setGroup("billing");
      auto resp = req.send().wait(rc.ws());
      if (resp.getError().getCode() != rpc::ErrorCode::NONE) return false;
      named.insert(resp.getBrokerId());
      address = resp.getAddress().cStr();
    }
    return true;
  }));
  REQUIRE(named.size() == 1);
  int32_t coord = *named.begin();
  CHECK(address == c.broker(static_cast<size_t>(coord)).address());

  auto join_at = [&](size_t i) {
    test::raw_client rc(c.broker(i).address());
    auto req = rc.broker().joinGroupRequest();
    req.setGroup("billing");
    req.setClientId("t");
    req.initTopics(1).set(0, "orders");
    req.setSessionTimeoutMs(10000);
    req.setStrategy("range");
    auto resp = req.send().wait(rc.ws());
    auto e = resp.getError();
    return reply{e.getCode(), e.getMessage().cStr(), e.getLeaderId(), e.getLeaderAddress().cStr()};
  };
  auto elsewhere = join_at(static_cast<size_t>((coord + 1) % 3));
  CHECK(elsewhere.code == rpc::ErrorCode::NOT_COORDINATOR);
  CHECK(elsewhere.leader_id == coord);
  CHECK(elsewhere.leader_address == address);
  // The coordinator serves the group once its partition of
  // __consumer_offsets is loaded (right after it was told it leads it).
  reply here;
  CHECK(test::eventually([&] {
    here = join_at(static_cast<size_t>(coord));
    return here.code == rpc::ErrorCode::NONE;
  }));
  INFO(here.message);
  CHECK(here.code == rpc::ErrorCode::NONE);
}

TEST_CASE("topic describe at any broker shows each partition's offsets from its leader",
          "[app][cluster]") {
  test::cluster_process c;
  require_formed(c, 3);
  int ctl = controller_index(c);
  REQUIRE(create_topic(c.broker(static_cast<size_t>(ctl)), "counted", 3).code ==
          rpc::ErrorCode::NONE);
  metadata_view m;
  REQUIRE(test::eventually([&] {
    m = metadata_of(c.broker(static_cast<size_t>(ctl)));
    return m.topics["counted"].size() == 3;
  }));
  // Partition p gets p + 1 messages, each at its leader.
  for (uint32_t p = 0; p < 3; ++p) {
    auto& leader = c.broker(static_cast<size_t>(m.topics["counted"][p].leader));
    for (uint32_t i = 0; i <= p; ++i) {
      REQUIRE(test::eventually([&] {
        return produce(leader.address(), "counted", p, "m").code == rpc::ErrorCode::NONE;
      }));
    }
  }
  // Every broker answers with all three leaders' figures (two of them
  // fetched from peers over the cluster port).
  for (size_t b = 0; b < 3; ++b) {
    std::vector<int64_t> hw;
    REQUIRE(test::eventually(
        [&] {
          test::raw_client rc(c.broker(b).address());
          auto req = rc.broker().describeTopicRequest();
          req.setName("counted");
          auto resp = req.send().wait(rc.ws());
          if (resp.getError().getCode() != rpc::ErrorCode::NONE) return false;
          hw.clear();
          for (auto p : resp.getTopic().getPartitions()) hw.push_back(p.getHighWatermark());
          return hw == std::vector<int64_t>{1, 2, 3};
        },
        15s));
  }
}
