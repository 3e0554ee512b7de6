// Focused replication cases on a real cluster of 3 brokers (local_cluster):
// replicas byte-identical after acks=all, nothing readable at or above the
// high watermark, acks=all refused under the minimum in-sync set.

#include <actormq/client/admin.h>
#include <actormq/client/consumer.h>
#include <actormq/client/producer.h>

#include <fmt/format.h>
#include <catch2/catch.hpp>

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

client::topic_config one_partition() {
  client::topic_config tc;
  tc.partitions = 1;
  tc.replication_factor = 3;
  return tc;
}

struct three_brokers {
  explicit three_brokers(int64_t replica_lag_ms = 2000, client::topic_config tc = one_partition())
      : dir("actormq-repl-case") {
    actormq::checker::cluster_settings s;
    s.bin_dir = ACTORMQ_BROKER_DIR;
    s.work_dir = dir.path() / "cluster";
    s.replica_lag_ms = replica_lag_ms;
    cluster = std::make_unique<local_cluster>(s);
    REQUIRE(cluster->start());
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

TEST_CASE("followers' segment files are byte-identical to the leader's after acks=all", "[long]") {
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

TEST_CASE("a follower behind the leader's log start starts over there and rejoins the in-sync set",
          "[long]") {
  auto tc = one_partition();
  tc.segment_bytes = 4096;
  tc.retention_bytes = 16384;
  three_brokers c(2000, tc);
  auto meta = c.part();
  REQUIRE(meta);
  int32_t follower = meta->replicas[0] == meta->leader ? meta->replicas[1] : meta->replicas[0];
  c.cluster->stop_broker(follower, true);
  REQUIRE(actormq::test::eventually([&] { return c.isr_size() == 2; }, 20s));
  // Far more than retention keeps: the leader deletes the segments the
  // stopped follower would need next.
  // Batches of ten records (~2 KB), so the 4 KB segments roll between
  // them: one big batch would make one big segment and nothing to delete.
  auto p = c.producer(client::acks::all);
  for (int i = 0; i < 600; ++i) {
    p->send(record(fmt::format("{:04}-{}", i, std::string(200, 'r'))));
    if (i % 10 == 9) REQUIRE(p->flush(30s));
  }
  auto* admin = c.cluster->admin_at(meta->leader);
  REQUIRE(admin);
  bool deleted = actormq::test::eventually(
      [&] {
        auto start = admin->list_offsets({"t", 0}, client::admin::earliest_timestamp);
        return start && *start > 0;
      },
      15s);
  if (!deleted) {
    std::ifstream in(c.cluster->settings().work_dir /
                     ("broker-" + std::to_string(meta->leader) + ".log"));
    std::string lines;
    for (std::string line; std::getline(in, line);) {
      if (line.find("t/0") != std::string::npos || line.find("retention") != std::string::npos) {
        lines += line + "\n";
      }
    }
    for (const auto& e : std::filesystem::directory_iterator(c.cluster->data_dir(meta->leader) /
                                                             "topics" / "t" / "0")) {
      lines += e.path().filename().string() + " " +
               (e.is_regular_file() ? std::to_string(e.file_size()) : std::string("dir")) + "\n";
    }
    {
      std::ifstream conf(c.cluster->data_dir(meta->leader) / "topics" / "t" / "topic.conf");
      lines +=
          std::string((std::istreambuf_iterator<char>(conf)), std::istreambuf_iterator<char>());
    }
    FAIL("the leader's log start never moved; its partition's lines:\n" << lines);
  }
  REQUIRE(c.cluster->start_broker(follower));
  CHECK(actormq::test::eventually([&] { return c.isr_size() == 3; }, 20s));
  // It replicates from there on: acks=all needs it no more than the others,
  // but the in-sync set it joined must hold new records.
  REQUIRE(p->send_sync(record("after the restart")).ok());
}

TEST_CASE("a restarting broker answers no client before it has read the cluster", "[long]") {
  // The checker's restart-all scenario found producers failing with
  // "unknown topic": a restarted broker (same port) served requests while
  // its control plane was still reading etcd, from an empty view.
  actormq::test::temp_dir dir("actormq-repl-case");
  actormq::checker::cluster_settings s;
  s.bin_dir = ACTORMQ_BROKER_DIR;
  s.work_dir = dir.path() / "cluster";
  s.etcd_timeout_ms = 20000;  // a start waits for a frozen etcd instead of giving up
  local_cluster cluster(s);
  REQUIRE(cluster.start());
  auto* a = cluster.admin_at(0);
  REQUIRE(a);
  REQUIRE(a->create_topic("t", one_partition()));
  cluster.stop_broker(1, false);
  // etcd frozen: broker 1 binds its port, then waits for its first read.
  cluster.pause_etcd();
  REQUIRE(cluster.start_broker(1, false));
  client::connection_config cfg;
  cfg.broker = cluster.address(1);
  cfg.connect_timeout_ms = 300;
  cfg.request_timeout_ms = 300;
  int answered_without_topic = 0;
  auto until = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < until) {
    auto probe = client::admin::create(cfg);
    if (probe) {
      auto md = (*probe)->metadata({"t"});
      if (md && (md->topics.empty() || md->topics[0].err)) ++answered_without_topic;
    }
    std::this_thread::sleep_for(100ms);
  }
  CHECK(answered_without_topic == 0);
  cluster.resume_etcd();
  // Once it has read the cluster it answers, topic included.
  CHECK(actormq::test::eventually(
      [&] {
        auto probe = client::admin::create(cfg);
        if (!probe) return false;
        auto md = (*probe)->metadata({"t"});
        return md && !md->topics.empty() && !md->topics[0].err;
      },
      20s));
}
