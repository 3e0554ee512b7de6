// Integration: the client's cluster side (bootstrap list, metadata, routing)
// against the real single broker, which answers as a cluster of one.
#include <catch2/catch.hpp>

#include "fixtures.h"
#include "subprocess.h"

#ifndef ACTORMQ_CLI_BIN
#error "ACTORMQ_CLI_BIN must name the actormq binary"
#endif

using namespace actormq;
using namespace std::chrono_literals;

namespace {

/// An address nobody listens on: a broker's, after it stopped.
std::string dead_address() {
  test::broker_process b;
  test::require_started(b);
  auto a = b.address();
  b.stop();
  return a;
}

test::subprocess_result cli(const std::string& broker, std::vector<std::string> args) {
  std::vector<std::string> argv = {ACTORMQ_CLI_BIN, "--broker", broker};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::run_subprocess(argv, {}, 60s);
}

}  // namespace

TEST_CASE("a single broker answers metadata as a cluster of one", "[app][cluster]") {
  test::broker_process broker;
  test::require_started(broker);
  test::create_topic(broker, "orders", 3);
  auto adm = client::admin::create(test::connection_to(broker));
  REQUIRE(adm);
  auto m = (*adm)->metadata({});
  INFO(m.err().to_string());
  REQUIRE(m);
  CHECK(m->cluster_id.empty());
  CHECK(m->broker_id == 0);
  CHECK(m->controller_id == 0);
  CHECK(m->control_plane_up);
  REQUIRE(m->brokers.size() == 1);
  CHECK(m->brokers[0].id == 0);
  CHECK(m->brokers[0].address == broker.address());
  CHECK(m->brokers[0].alive);
  REQUIRE(m->topics.size() == 1);
  const auto& t = m->topics[0];
  CHECK(t.name == "orders");
  CHECK_FALSE(t.err);
  CHECK(t.replication_factor == 1);
  REQUIRE(t.partitions.size() == 3);
  for (uint32_t p = 0; p < 3; ++p) {
    CHECK(t.partitions[p].partition == p);
    CHECK(t.partitions[p].leader == 0);
    CHECK(t.partitions[p].leader_epoch == 0);
    CHECK(t.partitions[p].replicas == std::vector<int32_t>{0});
    CHECK(t.partitions[p].isr == std::vector<int32_t>{0});
  }
}

TEST_CASE("metadata of a topic that does not exist carries unknown topic", "[app][cluster]") {
  test::broker_process broker;
  test::require_started(broker);
  test::create_topic(broker, "real", 1);
  auto adm = client::admin::create(test::connection_to(broker));
  REQUIRE(adm);
  auto m = (*adm)->metadata({"real", "missing"});
  REQUIRE(m);
  REQUIRE(m->topics.size() == 2);
  CHECK_FALSE(m->topics[0].err);
  CHECK(m->topics[1].name == "missing");
  CHECK(m->topics[1].err.is(client::errc::unknown_topic));
}

TEST_CASE("a single broker refuses a replication factor above one", "[app][cluster]") {
  test::broker_process broker;
  test::require_started(broker);
  auto adm = client::admin::create(test::connection_to(broker));
  REQUIRE(adm);
  client::topic_config cfg;
  cfg.partitions = 1;
  cfg.replication_factor = 2;
  auto r = (*adm)->create_topic("replicated", cfg);
  REQUIRE_FALSE(r);
  CHECK(r.err().is(client::errc::invalid_topic));
  cfg.replication_factor = 1;
  CHECK((*adm)->create_topic("replicated", cfg));
  auto t = (*adm)->describe_topic("replicated");
  REQUIRE(t);
  CHECK(t->config.replication_factor == 1);
}

TEST_CASE("a bootstrap list whose first address is dead still works", "[app][cluster]") {
  auto dead = dead_address();
  test::broker_process broker;
  test::require_started(broker);
  auto cfg = test::connection_to(broker);
  cfg.broker = dead + "," + broker.address();
  cfg.connect_timeout_ms = 2000;

  auto adm = client::admin::create(cfg);
  INFO((adm ? std::string() : adm.err().to_string()));
  REQUIRE(adm);
  client::topic_config tc;
  tc.partitions = 2;
  REQUIRE((*adm)->create_topic("boot", tc));

  client::producer_config pc;
  pc.connection = cfg;
  auto p = client::producer::create(pc);
  REQUIRE(p);
  for (int i = 0; i < 10; ++i) {
    client::producer_record rec;
    rec.topic = "boot";
    rec.key = "k" + std::to_string(i);
    rec.value = "v" + std::to_string(i);
    auto rep = (*p)->send_sync(std::move(rec));
    INFO(rep.err.to_string());
    REQUIRE(rep.ok());
  }

  client::consumer_config cc;
  cc.connection = cfg;
  cc.group_id = "boot-g";
  cc.auto_offset_reset = client::offset_reset::earliest;
  auto c = client::consumer::create(cc);
  REQUIRE(c);
  REQUIRE((*c)->subscribe({"boot"}));
  CHECK(test::consume_n(**c, 10).size() == 10);
  CHECK((*c)->commit_sync());
}

TEST_CASE("a bootstrap list of dead addresses fails with broker unreachable", "[app][cluster]") {
  client::connection_config cfg;
  cfg.broker = dead_address() + "," + dead_address();
  cfg.connect_timeout_ms = 2000;
  auto adm = client::admin::create(cfg);
  REQUIRE_FALSE(adm);
  CHECK(adm.err().is(client::errc::broker_unreachable));
}

TEST_CASE("a bad bootstrap list is refused", "[app][cluster]") {
  client::connection_config cfg;
  cfg.broker = "127.0.0.1:1,";
  auto adm = client::admin::create(cfg);
  REQUIRE_FALSE(adm);
  CHECK(adm.err().is(client::errc::invalid_argument));
}

TEST_CASE("when the bootstrap broker dies the next one in the list answers", "[app][cluster]") {
  // Two independent brokers, told apart by their topics.
  test::broker_process a, b;
  test::require_started(a);
  test::require_started(b);
  test::create_topic(a, "on-first", 1);
  test::create_topic(b, "on-second", 1);
  auto cfg = test::connection_to(a);
  cfg.broker = a.address() + "," + b.address();
  cfg.connect_timeout_ms = 2000;
  auto adm = client::admin::create(cfg);
  REQUIRE(adm);
  auto first = (*adm)->list_topics();
  REQUIRE(first);
  REQUIRE(first->size() == 1);
  CHECK(first->at(0).name == "on-first");
  a.stop(true);
  bool moved = test::eventually([&] {
    auto t = (*adm)->list_topics();
    return t && t->size() == 1 && t->at(0).name == "on-second";
  });
  CHECK(moved);
}

TEST_CASE("cli cluster status lists the brokers and the partition leaders", "[app][cluster][cli]") {
  test::broker_process broker;
  test::require_started(broker);
  test::create_topic(broker, "clicks", 2);
  auto r = cli(broker.address(), {"cluster", "status"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("Control plane: up") != std::string::npos);
  CHECK(r.out.find("Controller: 0") != std::string::npos);
  CHECK(r.out.find(broker.address()) != std::string::npos);
  CHECK(r.out.find("alive") != std::string::npos);
  CHECK(r.out.find("controller") != std::string::npos);
  CHECK(r.out.find("Topic: clicks\tPartitions: 2\tReplicationFactor: 1") != std::string::npos);
  CHECK(r.out.find("LEADER") != std::string::npos);
  CHECK(r.out.find("ISR") != std::string::npos);
  // One row per partition: partition, leader 0, epoch 0, replicas 0, isr 0.
  CHECK(r.out.find("0          0       0      0               0\n") != std::string::npos);
  CHECK(r.out.find("1          0       0      0               0\n") != std::string::npos);

  auto missing = cli(broker.address(), {"cluster", "status", "nope"});
  CHECK(missing.exit_code != 0);
  CHECK(missing.err.find("unknown topic") != std::string::npos);

  auto via_list = cli(dead_address() + "," + broker.address(), {"cluster", "status"});
  INFO(via_list.err);
  CHECK(via_list.exit_code == 0);
  CHECK(via_list.out.find("Topic: clicks") != std::string::npos);
}

TEST_CASE("cli topic describe shows leader, epoch, replicas and isr", "[app][cluster][cli]") {
  test::broker_process broker;
  test::require_started(broker);
  auto c = cli(broker.address(),
               {"topic", "create", "views", "--partitions", "2", "--replication-factor", "1"});
  INFO(c.err);
  REQUIRE(c.exit_code == 0);
  auto r = cli(broker.address(), {"topic", "describe", "views"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("ReplicationFactor: 1") != std::string::npos);
  for (const char* col : {"LEADER", "EPOCH", "REPLICAS", "ISR"}) {
    CHECK(r.out.find(col) != std::string::npos);
  }
  CHECK(r.err.empty());
  auto refused = cli(broker.address(), {"topic", "create", "wide", "--replication-factor", "3"});
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("replication factor") != std::string::npos);
}
