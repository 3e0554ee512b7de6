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

/// topic as b's local registry holds it (listTopics answers from there),
/// if b holds it.
std::optional<client::topic_info> local_topic(test::broker_process& b, const std::string& topic) {
  auto adm = client::admin::create(test::connection_to(b));
  if (!adm) return std::nullopt;
  auto list = (*adm)->list_topics();
  if (!list) return std::nullopt;
  for (auto& t : *list) {
    if (t.name == topic) return t;
  }
  return std::nullopt;
}

/// The partition count of topic in b's local registry, 0 when b does not
/// hold it.
size_t local_partitions(test::broker_process& b, const std::string& topic) {
  auto t = local_topic(b, topic);
  return t ? t->partitions.size() : 0;
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

  // A produce quota set through a non-controller: the controller writes it,
  // every holder's registry takes it, and the producer's sessions (which
  // cached the topic) hold its requests from then on.
  cli = test::run_subprocess({ACTORMQ_CLI_BIN, "--broker", entry.address(), "topic", "alter",
                              "grown", "--producer-message-rate", "20"},
                             {}, 60s);
  INFO(cli.err);
  CHECK(cli.exit_code == 0);
  for (auto id : holders) {
    auto& b = c.broker(static_cast<size_t>(id));
    CHECK(test::eventually(
        [&] {
          auto lt = local_topic(b, "grown");
          return lt && lt->config.producer_message_rate == 20;
        },
        10s));
  }
  std::vector<std::future<client::delivery_report>> held;
  for (int i = 0; i < 40; ++i) {
    client::producer_record rec;
    rec.topic = "grown";
    rec.value = "limited";
    rec.partition = 0;
    held.push_back((*prod)->send(rec));
    if (i % 4 == 3) REQUIRE((*prod)->flush(30s));  // ten requests of four
  }
  uint32_t throttled = 0;
  for (auto& f : held) {
    auto r = f.get();
    INFO(r.err.to_string());
    CHECK(r.ok());
    throttled += r.throttled_ms > 0 ? 1 : 0;
  }
  // 40 messages at 20/s past a 20-message burst: the later ones waited.
  CHECK(throttled > 0);
  auto described = (*adm)->describe_topic("grown");
  REQUIRE(described);
  CHECK(described->config.producer_message_rate == 20);
  auto bad = (*adm)->set_topic_quota("grown", -5, -1);
  CHECK(bad.err().is(client::errc::invalid_topic));
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
  // So is a quota.
  auto quota = rc.broker().setTopicQuotaRequest();
  quota.setName("fixed");
  quota.setProducerByteRate(1000);
  auto quota_response = quota.send().wait(rc.ws());
  CHECK(quota_response.getError().getCode() == rpc::ErrorCode::NOT_CONTROLLER);
  // Nothing changed.
  auto md = (*adm)->metadata({"fixed"});
  REQUIRE(md);
  REQUIRE(md->topics.size() == 1);
  CHECK(md->topics[0].partitions.size() == 1);
}
