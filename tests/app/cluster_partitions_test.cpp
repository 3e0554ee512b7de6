// Integration: adding partitions to a topic of a cluster goes through the
// controller, which places the new partitions and writes them with the new
// count; every broker holding the topic then creates them locally.
#include <catch2/catch.hpp>

#include <set>

#include "cluster_fixtures.h"
#include "raw_client.h"
#include "subprocess.h"

#ifndef ACTORMQ_CLI_BIN
#error "ACTORMQ_CLI_BIN must name the actormq binary"
#endif

using namespace actormq;
using namespace std::chrono_literals;

namespace {

/// The partition count of topic in b's local registry (listTopics answers
/// from there), or 0 when b does not hold it.
size_t local_partitions(test::broker_process& b, const std::string& topic) {
  auto adm = client::admin::create(test::connection_to(b));
  if (!adm) return 0;
  auto list = (*adm)->list_topics();
  if (!list) return 0;
  for (auto& t : *list) {
    if (t.name == topic) return t.partitions.size();
  }
  return 0;
}

}  // namespace

TEST_CASE("partitions added at a non-controller broker are placed by the controller and served",
          "[app][cluster][partitions]") {
  test::cluster_process c;
  auto m = test::require_formed(c, 3);
  auto& entry = c.broker(test::not_controller(m));
  auto adm = client::admin::create(test::connection_to(entry));
  REQUIRE(adm);
  client::topic_config cfg;
  cfg.partitions = 2;
  REQUIRE((*adm)->create_topic("grown", cfg));
  (void)test::require_led(**adm, "grown", 2);

  // One producer for the whole test: its leader sessions cache the topic
  // with two partitions before the new ones exist.
  client::producer_config pc;
  pc.connection = test::connection_to(entry);
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  for (uint32_t p = 0; p < 2; ++p) {
    client::producer_record rec;
    rec.topic = "grown";
    rec.value = "before";
    rec.partition = p;
    auto r = (*prod)->send_sync(rec);
    INFO(r.err.to_string());
    REQUIRE(r.ok());
  }

  auto added = (*adm)->add_partitions("grown", 5);
  INFO(added.err().to_string());
  REQUIRE(added);
  auto t = test::require_led(**adm, "grown", 5);
  std::set<int32_t> holders;
  for (auto& p : t.partitions) {
    CHECK(p.replicas.size() == 1);
    CHECK(p.leader == p.replicas.front());
    holders.insert(p.replicas.begin(), p.replicas.end());
  }
  // Round robin over three brokers: five partitions land on all of them,
  // and each holder creates all five locally.
  CHECK(holders.size() == 3);
  for (auto id : holders) {
    auto& b = c.broker(static_cast<size_t>(id));
    CHECK(test::eventually([&] { return local_partitions(b, "grown") == 5; }, 10s));
  }
  // The new partitions take records at their leaders, from the same producer.
  for (uint32_t p = 2; p < 5; ++p) {
    client::producer_record rec;
    rec.topic = "grown";
    rec.value = "after";
    rec.partition = p;
    auto r = (*prod)->send_sync(rec);
    INFO(r.err.to_string());
    CHECK(r.ok());
    CHECK(r.partition == p);
  }
  // The CLI does the same through any broker.
  auto cli = test::run_subprocess({ACTORMQ_CLI_BIN, "--broker", entry.address(), "topic", "alter",
                                   "grown", "--partitions", "6"},
                                  {}, 60s);
  INFO(cli.err);
  CHECK(cli.exit_code == 0);
  CHECK(cli.out.find("topic grown now has 6 partitions") != std::string::npos);
  (void)test::require_led(**adm, "grown", 6);
  // A count that is not larger is refused by the controller.
  auto same = (*adm)->add_partitions("grown", 6);
  CHECK(same.err().is(client::errc::invalid_topic));
  auto unknown = (*adm)->add_partitions("no-such-topic", 5);
  CHECK(unknown.err().is(client::errc::unknown_topic));
}

TEST_CASE("adding partitions at a broker that is not the controller is refused with its address",
          "[app][cluster][partitions]") {
  test::cluster_process c;
  auto m = test::require_formed(c, 3);
  auto& ctl = c.broker(static_cast<size_t>(m.controller_id));
  auto& other = c.broker(test::not_controller(m));
  auto adm = client::admin::create(test::connection_to(ctl));
  REQUIRE(adm);
  client::topic_config cfg;
  cfg.partitions = 1;
  REQUIRE((*adm)->create_topic("fixed", cfg));
  (void)test::require_led(**adm, "fixed", 1);

  test::raw_client rc(other.address());
  auto req = rc.broker().addPartitionsRequest();
  req.setName("fixed");
  req.setTotalPartitions(4);
  // The response must outlive the reader taken from it.
  auto response = req.send().wait(rc.ws());
  auto e = response.getError();
  CHECK(e.getCode() == rpc::ErrorCode::NOT_CONTROLLER);
  CHECK(e.getLeaderId() == m.controller_id);
  CHECK(std::string(e.getLeaderAddress().cStr()) == ctl.address());
  // Nothing changed.
  auto md = (*adm)->metadata({"fixed"});
  REQUIRE(md);
  REQUIRE(md->topics.size() == 1);
  CHECK(md->topics[0].partitions.size() == 1);
}
