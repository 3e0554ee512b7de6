// Integration: the idempotent producer stores a batch at most once when it
// takes a new producer id while a batch it already sent has no answer
// (app/client/src/record_accumulator.h, "a new producer id"), against
// three real brokers.
#include <catch2/catch.hpp>

#include <algorithm>
#include <future>
#include <thread>

#include "cluster_fixtures.h"

using namespace actormq;
using namespace std::chrono_literals;

namespace {

/// The values of partition p of topic, read from its earliest offset until
/// `last` is among them or bound passes.
std::vector<std::string> read_partition_until(test::cluster_process& c, const std::string& topic,
                                              uint32_t p, const std::string& last,
                                              std::chrono::seconds bound) {
  client::consumer_config cc;
  cc.connection = test::bootstrap(c, 3);
  cc.group_id = "verify-" + topic;
  cc.auto_offset_reset = client::offset_reset::earliest;
  cc.fetch_max_wait_ms = 200;
  cc.retry_topics = false;
  auto consumer = client::consumer::create(cc);
  REQUIRE(consumer);
  REQUIRE((*consumer)->subscribe({topic}));
  std::vector<std::string> seen;
  auto deadline = std::chrono::steady_clock::now() + bound;
  while (std::find(seen.begin(), seen.end(), last) == seen.end() &&
         std::chrono::steady_clock::now() < deadline) {
    auto r = (*consumer)->poll(200ms);
    if (!r) continue;
    for (const auto& m : *r) {
      if (m.partition == p) seen.push_back(m.value.value_or(""));
    }
  }
  (void)(*consumer)->close();
  return seen;
}

/// Waits (bounded) for a delivery report.
client::delivery_report wait_report(std::future<client::delivery_report>& f,
                                    std::chrono::seconds bound) {
  if (f.wait_for(bound) != std::future_status::ready) {
    client::delivery_report rep;
    rep.err = client::error(client::errc::request_timeout, "no delivery report in the bound");
    return rep;
  }
  return f.get();
}

}  // namespace

TEST_CASE("a batch stored under the old producer id is not stored again under the new one",
          "[app][cluster][producer]") {
  // Stopped brokers stay registered (lease) and in the in-sync sets
  // (replica_lag_ms) for the whole test: leaders do not move, and a leader
  // appends while its followers are stopped.
  test::cluster_process c(20000);
  c.add_cluster_config("replica_lag_ms = 15000\n");
  (void)test::require_formed(c, 3);
  const std::string topic = "idem";
  auto adm = client::admin::create(test::connection_to(c.broker(0)));
  REQUIRE(adm);
  client::topic_config tc;
  tc.partitions = 3;
  tc.replication_factor = 3;  // min_insync_replicas 2 (the default)
  REQUIRE((*adm)->create_topic(topic, tc));
  auto t = test::require_led(**adm, topic, 3);
  // X and Y: two partitions led by different brokers.
  std::optional<std::pair<uint32_t, uint32_t>> xy;
  for (const auto& a : t.partitions) {
    for (const auto& b : t.partitions) {
      if (!xy && a.leader != b.leader) xy = {a.partition, b.partition};
    }
  }
  REQUIRE(xy);
  const auto [x, y] = *xy;
  const auto x_leader = static_cast<size_t>(t.partitions[x].leader);
  const auto y_leader = static_cast<size_t>(t.partitions[y].leader);
  const size_t third = 3 - x_leader - y_leader;  // X's other follower

  client::producer_config pc;
  // X's leader first: initProducer goes to the bootstrap broker, the one
  // that keeps running.
  pc.connection = test::connection_to(c.broker(x_leader));
  pc.connection.broker += "," + c.broker(y_leader).address() + "," + c.broker(third).address();
  pc.connection.request_timeout_ms = 1000;
  pc.idempotent = true;
  pc.acks = client::acks::all;
  pc.linger_ms = 0;
  pc.delivery_timeout_ms = 6000;
  pc.max_in_flight_per_partition = 1;
  auto p = client::producer::create(pc);
  INFO((p ? std::string() : p.err().to_string()));
  REQUIRE(p);
  auto send_to = [&](uint32_t part, const std::string& value) {
    client::producer_record rec;
    rec.topic = topic;
    rec.partition = part;
    rec.value = value;
    return (*p)->send(std::move(rec));
  };
  // The producer id and its sequences on both partitions.
  for (auto part : {x, y}) {
    auto f = send_to(part, "first");
    auto rep = wait_report(f, 15s);
    INFO(rep.err.to_string());
    REQUIRE(rep.ok());
  }
  const int64_t first_id = (*p)->producer_id();

  // B to Y, whose leader is stopped: B fails by its delivery timeout, a
  // sequence gap on Y that takes a new producer id.
  c.broker(y_leader).pause();
  auto b = send_to(y, "B");
  // A to X four seconds later, so that its deadline comes well after B's
  // (not a wait for a timer: the two deadlines are ordered). X's leader
  // appends A, but with both followers stopped acks=all cannot answer, and
  // A's requests time out: A may be stored, nobody knows.
  std::this_thread::sleep_for(4s);
  c.broker(third).pause();
  auto a = send_to(x, "A");
  auto b_rep = wait_report(b, 12s);
  c.broker(y_leader).resume();
  c.broker(third).resume();
  INFO(b_rep.err.to_string());
  CHECK(b_rep.err.is(client::errc::delivery_timeout));
  auto a_rep = wait_report(a, 12s);
  INFO("A: " << (a_rep.ok() ? "offset " + std::to_string(a_rep.offset) : a_rep.err.to_string()));
  auto end = send_to(x, "end");
  auto end_rep = wait_report(end, 15s);
  INFO(end_rep.err.to_string());
  REQUIRE(end_rep.ok());
  CHECK((*p)->producer_id() != first_id);  // B's gap took a new id
  (void)(*p)->close(5s);

  auto values = read_partition_until(c, topic, x, "end", 20s);
  REQUIRE(std::find(values.begin(), values.end(), "end") != values.end());
  auto stored = std::count(values.begin(), values.end(), "A");
  CHECK(stored <= 1);
  if (a_rep.ok()) CHECK(stored == 1);
}
