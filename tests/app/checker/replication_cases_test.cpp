// Focused replication cases on a real cluster of 3 brokers (local_cluster):
// replicas byte-identical after acks=all, nothing readable at or above the
// high watermark, acks=all refused under the minimum in-sync set.

#include <actormq/client/admin.h>
#include <actormq/client/consumer.h>
#include <actormq/client/producer.h>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>

#include "local_cluster.h"
#include "support/eventually.h"
#include "support/temp_dir.h"

namespace {

using namespace std::chrono_literals;
using actormq::checker::local_cluster;
namespace client = actormq::client;

struct three_brokers {
  explicit three_brokers(int64_t replica_lag_ms = 2000) : dir("actormq-repl-case") {
    actormq::checker::cluster_settings s;
    s.bin_dir = ACTORMQ_BROKER_DIR;
    s.work_dir = dir.path() / "cluster";
    s.replica_lag_ms = replica_lag_ms;
    cluster = std::make_unique<local_cluster>(s);
    REQUIRE(cluster->start());
    client::topic_config tc;
    tc.partitions = 1;
    tc.replication_factor = 3;
    auto* a = cluster->admin_at(0);
    REQUIRE(a);
    REQUIRE(a->create_topic("t", tc));
    REQUIRE(actormq::test::eventually([&] { return isr_size() == 3; }, 20s));
  }

  std::optional<client::partition_metadata> part() {
    auto md = cluster->metadata("t");
    if (!md || md->topics.empty() || md->topics[0].partitions.empty()) return std::nullopt;
    return md->topics[0].partitions[0];
  }
  size_t isr_size() {
    auto p = part();
    return p && p->leader >= 0 ? p->isr.size() : 0;
  }

  std::unique_ptr<client::producer> producer(client::acks acks, uint32_t retries = 100) {
    client::producer_config cfg;
    cfg.connection.broker = cluster->bootstrap();
    cfg.connection.request_timeout_ms = 5000;
    cfg.acks = acks;
    cfg.retries = retries;
    cfg.delivery_timeout_ms = 20000;
    auto p = client::producer::create(cfg);
    REQUIRE(p);
    return std::move(*p);
  }

  /// Offsets a fresh group reads from the start within `wait`.
  std::vector<int64_t> readable(std::chrono::milliseconds wait) {
    client::consumer_config cfg;
    cfg.connection.broker = cluster->bootstrap();
    cfg.group_id = fmt::format("case-{}", ++groups);
    cfg.auto_offset_reset = client::offset_reset::earliest;
    cfg.retry_topics = false;
    cfg.fetch_max_wait_ms = 100;
    auto c = client::consumer::create(cfg);
    REQUIRE(c);
    REQUIRE((*c)->subscribe({"t"}));
    std::vector<int64_t> offsets;
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      auto ms = (*c)->poll(200ms);
      if (!ms) continue;
      for (auto& m : *ms) offsets.push_back(m.offset);
    }
    (void)(*c)->close();
    return offsets;
  }

  actormq::test::temp_dir dir;
  std::unique_ptr<local_cluster> cluster;
  int groups = 0;
};

client::producer_record record(std::string value) {
  client::producer_record rec;
  rec.topic = "t";
  rec.value = std::move(value);
  rec.partition = 0;
  return rec;
}

std::map<std::string, std::string> segment_files(const std::filesystem::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".log") continue;
    std::ifstream in(e.path(), std::ios::binary);
    out[e.path().filename().string()] =
        std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

}  // namespace

TEST_CASE("followers' segment files are byte-identical to the leader's after acks=all",
          "[long]") {
  three_brokers c;
  auto p = c.producer(client::acks::all);
  for (int i = 0; i < 300; ++i) {
    client::producer_record rec;
    rec.topic = "t";
    rec.value = fmt::format("value-{}-{}", i, std::string(static_cast<size_t>(i % 50), 'x'));
    rec.partition = 0;
    p->send(std::move(rec));
  }
  REQUIRE(p->flush(30s));
  p.reset();
  auto meta = c.part();
  REQUIRE(meta);
  // acks=all answered, so every in-sync replica has it; a clean stop then
  // leaves the files as they are.
  c.cluster->shutdown();
  auto dir = [&](int b) { return c.cluster->data_dir(b) / "topics" / "t" / "0"; };
  auto leader = segment_files(dir(meta->leader));
  REQUIRE_FALSE(leader.empty());
  for (auto r : meta->replicas) {
    INFO("replica " << r << " vs leader " << meta->leader);
    CHECK(segment_files(dir(r)) == leader);
  }
}

TEST_CASE("a consumer never reads at or above the high watermark while a follower is frozen",
          "[long]") {
  three_brokers c(4000);
  auto committed = c.producer(client::acks::all);
  for (int i = 0; i < 10; ++i) {
    REQUIRE(committed->send_sync(record("c" + std::to_string(i))).ok());
  }
  auto meta = c.part();
  REQUIRE(meta);
  int32_t follower = meta->replicas[0] == meta->leader ? meta->replicas[1] : meta->replicas[0];
  c.cluster->pause_broker(follower);
  auto t0 = std::chrono::steady_clock::now();
  auto leader_only = c.producer(client::acks::leader);
  for (int i = 0; i < 20; ++i) {
    auto r = leader_only->send_sync(record("l" + std::to_string(i)));
    REQUIRE(r.ok());
    CHECK(r.offset == 10 + i);
  }
  // The frozen follower is still in the in-sync set (replica_lag_ms = 4 s):
  // the high watermark stays at 10, so only offsets below it are readable.
  auto before = c.readable(1000ms);
  REQUIRE(std::chrono::steady_clock::now() - t0 < 3500ms);
  CHECK(before.size() == 10);
  CHECK(std::all_of(before.begin(), before.end(), [](int64_t o) { return o < 10; }));
  // Once it leaves the in-sync set the high watermark passes them.
  REQUIRE(actormq::test::eventually([&] { return c.isr_size() == 2; }, 15s));
  REQUIRE(actormq::test::eventually([&] { return c.readable(500ms).size() == 30; }, 15s));
  c.cluster->resume_broker(follower);
  CHECK(actormq::test::eventually([&] { return c.isr_size() == 3; }, 30s));
}

TEST_CASE("acks=all is refused with notEnoughReplicas when the in-sync set is below the minimum",
          "[long]") {
  three_brokers c;
  auto meta = c.part();
  REQUIRE(meta);
  for (auto r : meta->replicas) {
    if (r != meta->leader) c.cluster->stop_broker(r, true);
  }
  REQUIRE(actormq::test::eventually([&] { return c.isr_size() == 1; }, 20s));
  auto all = c.producer(client::acks::all, 0);
  auto refused = all->send_sync(record("refused"));
  CHECK(refused.err.is(client::errc::not_enough_replicas));
  // acks=leader does not need the in-sync set (as Kafka's acks=1).
  auto leader_only = c.producer(client::acks::leader, 0);
  CHECK(leader_only->send_sync(record("accepted")).ok());
}
