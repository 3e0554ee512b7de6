// Integration: the client library and CLI against a real cluster (etcd and
// three brokers, tests/support/cluster_process.h). The client is given one
// broker that is not the controller and finds leaders, the controller and
// group coordinators through it.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "cluster_fixtures.h"
#include "fixtures.h"
#include "subprocess.h"
#include "support/cluster_process.h"

#ifndef ACTORMQ_CLI_BIN
#error "ACTORMQ_CLI_BIN must name the actormq binary"
#endif

using namespace actormq;
using namespace std::chrono_literals;
using test::not_controller;
using test::require_formed;
using test::require_led;

TEST_CASE("the client routes topic changes, produce, fetch and group calls across three brokers",
          "[app][cluster][routing]") {
  test::cluster_process c;
  auto m = require_formed(c, 3);
  auto& entry = c.broker(not_controller(m));
  auto cfg = test::connection_to(entry);

  auto adm = client::admin::create(cfg);
  REQUIRE(adm);
  client::topic_config tc;
  tc.partitions = 6;
  auto made = (*adm)->create_topic("routed", tc);  // at the controller, not at entry
  INFO(made.err().to_string());
  REQUIRE(made);
  auto t = require_led(**adm, "routed", 6);
  std::set<int32_t> leaders;
  for (const auto& p : t.partitions) leaders.insert(p.leader);
  CHECK(leaders.size() > 1);

  client::producer_config pc;
  pc.connection = cfg;
  pc.delivery_timeout_ms = 30000;
  auto p = client::producer::create(pc);
  REQUIRE(p);
  std::vector<std::future<client::delivery_report>> sent;
  for (int i = 0; i < 60; ++i) {
    client::producer_record rec;
    rec.topic = "routed";
    rec.key = "k" + std::to_string(i);
    rec.value = "v" + std::to_string(i);
    sent.push_back((*p)->send(std::move(rec)));
  }
  REQUIRE((*p)->flush(30s));
  std::set<uint32_t> partitions;
  for (auto& f : sent) {
    auto rep = f.get();
    INFO(rep.err.to_string());
    REQUIRE(rep.ok());
    partitions.insert(rep.partition);
  }
  CHECK(partitions.size() > 1);

  client::consumer_config cc;
  cc.connection = cfg;
  cc.group_id = "routed-g";
  cc.auto_offset_reset = client::offset_reset::earliest;
  auto con = client::consumer::create(cc);
  REQUIRE(con);
  auto sub = (*con)->subscribe({"routed"});
  INFO(sub.err().to_string());
  REQUIRE(sub);
  auto got = test::consume_n(**con, 60, 40s);
  std::set<std::string> values;
  for (const auto& msg : got) values.insert(msg.value.value_or(""));
  CHECK(values.size() == 60);
  CHECK((*con)->commit_sync());
  // The committed offsets are at the group's coordinator.
  std::vector<client::topic_partition> tps;
  for (uint32_t i = 0; i < 6; ++i) tps.push_back({"routed", i});
  auto committed = (*adm)->fetch_offsets("routed-g", tps);
  INFO(committed.err().to_string());
  REQUIRE(committed);
  int64_t total = 0;
  for (const auto& o : *committed) total += std::max<int64_t>(o.offset, 0);
  CHECK(total == 60);
  // listOffsets at each leader.
  int64_t end = 0;
  for (uint32_t i = 0; i < 6; ++i) {
    auto off = (*adm)->list_offsets({"routed", i}, client::admin::latest_timestamp);
    INFO(off.err().to_string());
    REQUIRE(off);
    end += *off;
  }
  CHECK(end == 60);
}

TEST_CASE("records for a partition whose leader is down wait and arrive when it returns",
          "[app][cluster][routing]") {
  test::cluster_process c;
  auto m = require_formed(c, 3);
  auto& entry = c.broker(not_controller(m));
  auto cfg = test::connection_to(entry);
  auto adm = client::admin::create(cfg);
  REQUIRE(adm);
  client::topic_config tc;
  tc.partitions = 3;
  REQUIRE((*adm)->create_topic("waits", tc));
  auto t = require_led(**adm, "waits", 3);
  // A partition led by a broker other than the entry and the controller.
  std::optional<uint32_t> part;
  int32_t leader = -1;
  for (const auto& pm : t.partitions) {
    if (pm.leader != static_cast<int32_t>(not_controller(m)) && pm.leader != m.controller_id) {
      part = pm.partition;
      leader = pm.leader;
    }
  }
  if (!part) {
    WARN("every partition is led by the entry broker or the controller: nothing to stop");
    return;
  }

  client::producer_config pc;
  pc.connection = cfg;
  pc.delivery_timeout_ms = 60000;
  auto p = client::producer::create(pc);
  REQUIRE(p);
  client::producer_record first;
  first.topic = "waits";
  first.partition = *part;
  first.value = "before";
  auto ok = (*p)->send_sync(first);
  INFO(ok.err.to_string());
  REQUIRE(ok.ok());

  c.broker(static_cast<size_t>(leader)).stop(true);
  REQUIRE(test::eventually([&] {
    auto md = (*adm)->metadata({"waits"});
    return md && md->topics.size() == 1 && md->topics[0].partitions[*part].leader == -1;
  }));
  client::producer_record rec = first;
  rec.value = "while down";
  auto pending = (*p)->send(rec);
  CHECK(pending.wait_for(2s) == std::future_status::timeout);
  REQUIRE(c.broker(static_cast<size_t>(leader)).restart());
  REQUIRE(pending.wait_for(45s) == std::future_status::ready);
  auto rep = pending.get();
  INFO(rep.err.to_string());
  CHECK(rep.ok());
  CHECK(rep.offset == ok.offset + 1);
}

TEST_CASE("cli cluster status shows every broker, the controller and the leaders",
          "[app][cluster][routing][cli]") {
  test::cluster_process c;
  auto m = require_formed(c, 3);
  auto& entry = c.broker(not_controller(m));
  auto made = test::run_subprocess({ACTORMQ_CLI_BIN, "--broker", entry.address(), "topic", "create",
                                    "shown", "--partitions", "3"},
                                   {}, 60s);
  INFO(made.err);
  REQUIRE(made.exit_code == 0);
  auto adm = client::admin::create(test::connection_to(entry));
  REQUIRE(adm);
  (void)require_led(**adm, "shown", 3);
  auto r =
      test::run_subprocess({ACTORMQ_CLI_BIN, "--broker",
                            entry.address() + "," + c.broker(2).address(), "cluster", "status"},
                           {}, 60s);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  INFO(r.out);
  CHECK(r.out.find("Cluster: test") != std::string::npos);
  CHECK(r.out.find("Control plane: up") != std::string::npos);
  CHECK(r.out.find("Controller: " + std::to_string(m.controller_id)) != std::string::npos);
  for (size_t i = 0; i < 3; ++i) CHECK(r.out.find(c.broker(i).address()) != std::string::npos);
  CHECK(r.out.find("Topic: shown\tPartitions: 3") != std::string::npos);
  auto d = test::run_subprocess(
      {ACTORMQ_CLI_BIN, "--broker", entry.address(), "topic", "describe", "shown"}, {}, 60s);
  INFO(d.err);
  CHECK(d.exit_code == 0);
  CHECK(d.out.find("LEADER") != std::string::npos);
}

TEST_CASE("a group whose coordinator holds no replica of the topic still gets its partitions",
          "[app][cluster][routing]") {
  // One partition with one replica lives on one broker; a group's
  // coordinator is picked by the group's name, so for most names it is
  // another broker, which must assign from the cluster's topics, not from
  // the ones it holds. (Before the fix, g1 and g2 got nothing here.)
  test::cluster_process c;
  auto m = require_formed(c, 3);
  auto cfg = test::connection_to(c.broker(not_controller(m)));
  auto adm = client::admin::create(cfg);
  REQUIRE(adm);
  client::topic_config tc;
  tc.partitions = 1;
  REQUIRE((*adm)->create_topic("t1", tc));
  require_led(**adm, "t1", 1);

  client::producer_config pc;
  pc.connection = cfg;
  auto p = client::producer::create(pc);
  REQUIRE(p);
  for (int i = 0; i < 5; ++i) {
    client::producer_record rec;
    rec.topic = "t1";
    rec.value = "v" + std::to_string(i);
    REQUIRE((*p)->send_sync(std::move(rec)).ok());
  }
  for (std::string group : {"g1", "g2", "g5"}) {
    INFO("group " << group);
    client::consumer_config cc;
    cc.connection = cfg;
    cc.group_id = group;
    cc.auto_offset_reset = client::offset_reset::earliest;
    auto con = client::consumer::create(cc);
    REQUIRE(con);
    REQUIRE((*con)->subscribe({"t1"}));
    auto got = test::consume_n(**con, 5, 20s);
    CHECK(got.size() == 5);
  }
}

TEST_CASE("a poll returns one leader's records without waiting out another leader's idle long poll",
          "[app][cluster][routing]") {
  // Two topics led by two different brokers, one consumer of both with a
  // 10 s long poll. A record on one of them must come back at once, not
  // when the other broker's long poll (empty) ends. (Before the fix a poll
  // waited for every leader's answer: 100-200 ms with the default wait, as
  // a consumer's retry topic is usually led by another broker.)
  test::cluster_process c;
  auto m = require_formed(c, 3);
  auto cfg = test::connection_to(c.broker(not_controller(m)));
  auto adm = client::admin::create(cfg);
  REQUIRE(adm);
  client::topic_config tc;
  tc.partitions = 1;
  std::map<int32_t, std::string> by_leader;
  for (int i = 0; i < 12 && by_leader.size() < 2; ++i) {
    auto name = "lp" + std::to_string(i);
    REQUIRE((*adm)->create_topic(name, tc));
    auto t = require_led(**adm, name, 1);
    by_leader.emplace(t.partitions[0].leader, name);
  }
  REQUIRE(by_leader.size() == 2);
  auto busy = by_leader.begin()->second;
  auto idle = std::next(by_leader.begin())->second;

  client::consumer_config cc;
  cc.connection = cfg;
  cc.group_id = "long-pollers";
  cc.auto_offset_reset = client::offset_reset::earliest;
  cc.retry_topics = false;
  cc.fetch_max_wait_ms = 10000;
  auto con = client::consumer::create(cc);
  REQUIRE(con);
  REQUIRE((*con)->subscribe({busy, idle}));
  REQUIRE(test::eventually([&] { return (*con)->poll(100ms) && (*con)->assignment().size() == 2; },
                           20s));

  client::producer_config pc;
  pc.connection = cfg;
  auto p = client::producer::create(pc);
  REQUIRE(p);
  for (int round = 0; round < 3; ++round) {
    client::producer_record rec;
    rec.topic = busy;
    rec.value = "r" + std::to_string(round);
    REQUIRE((*p)->send_sync(std::move(rec)).ok());
    auto start = std::chrono::steady_clock::now();
    std::vector<std::string> got;
    while (got.empty() && std::chrono::steady_clock::now() - start < 30s) {
      auto r = (*con)->poll(30s);
      REQUIRE(r);
      for (const auto& msg : *r) got.push_back(msg.value.value_or(""));
    }
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(got == std::vector<std::string>{"r" + std::to_string(round)});
    // Far below the idle broker's 10 s long poll.
    CHECK(took < 5s);
  }
  (void)(*con)->close();
}
