// Integration: retries and dead letters in a real 3-broker cluster. A
// consumer's nack goes to its group's coordinator, whose RETRY actor reads
// the record wherever its partition is led, schedules the retry on the
// replicated __delay_schedule and writes dead letters to the replicated DLQ
// (actors/retry/retry_actor.h). A retry storm runs through the SIGKILL of
// the group's coordinator: nothing is lost, the dead letters carry the
// records' own headers and their history, and a re-drive (its cursor in
// __consumer_offsets) moves them back.
#include <catch2/catch.hpp>

#include <set>

#include "actormq/client/dead_letters.h"
#include "cluster_fixtures.h"

using namespace actormq;
using namespace std::chrono_literals;

namespace {

using test::bootstrap;

std::unique_ptr<client::consumer> storm_consumer(test::cluster_process& c, const std::string& topic,
                                                 const std::string& group) {
  client::consumer_config cc;
  cc.connection = bootstrap(c, 3);
  cc.group_id = group;
  cc.auto_offset_reset = client::offset_reset::earliest;
  cc.fetch_max_wait_ms = 100;
  cc.session_timeout_ms = 6000;
  auto consumer = client::consumer::create(cc);
  INFO(consumer.err().to_string());
  REQUIRE(consumer);
  auto sub = (*consumer)->subscribe({topic});
  INFO(sub.err().to_string());
  REQUIRE(sub);
  return std::move(*consumer);
}

}  // namespace

TEST_CASE(
    "a retry storm through the SIGKILL of the group's coordinator loses no message and its "
    "dead letters keep their headers",
    "[app][cluster][retry]") {
  test::cluster_process c;
  c.add_cluster_config("[retry]\nbackoff = \"200ms 400ms 800ms\"\nmax_retries = 3\n");
  test::require_formed(c, 3);
  auto adm = client::admin::create(bootstrap(c, 3));
  REQUIRE(adm);
  client::topic_config tc;
  tc.partitions = 3;
  tc.replication_factor = 3;
  REQUIRE((*adm)->create_topic("work", tc));
  test::require_led(**adm, "work", 3);

  constexpr int n = 120;
  {
    client::producer_config pc;
    pc.connection = bootstrap(c, 3);
    pc.acks = client::acks::all;
    auto prod = client::producer::create(pc);
    REQUIRE(prod);
    std::vector<std::future<client::delivery_report>> fs;
    for (int i = 0; i < n; ++i) {
      client::producer_record r;
      r.topic = "work";
      r.key = "k" + std::to_string(i % 7);
      r.value = std::to_string(i);
      r.headers.push_back({"trace", "t" + std::to_string(i)});
      fs.push_back((*prod)->send(std::move(r)));
    }
    REQUIRE((*prod)->flush(30s));
    for (auto& f : fs) {
      REQUIRE(f.wait_for(10s) == std::future_status::ready);
      auto rep = f.get();
      INFO(rep.err.to_string());
      REQUIRE(rep.ok());
    }
  }

  const std::string group = "workers";
  auto consumer = storm_consumer(c, "work", group);
  // The subscription created the group's retry and dead-letter topics.
  auto md = (*adm)->metadata({"work.workers.retry", "work.workers.dlq"}, true);
  REQUIRE(md);
  for (const auto& t : md->topics) CHECK_FALSE(t.err);

  auto coordinator = test::state_leader_of(**adm, "__consumer_offsets", group);
  INFO("group coordinator " << coordinator);

  // i % 3 == 0 always fails (dead-lettered after 4 deliveries), i % 3 == 1
  // fails twice then succeeds, the rest succeed at once.
  std::set<int> acked;
  bool killed = false;
  auto dead_letters = [&] {
    std::vector<client::dead_letter> out;
    auto a = client::dlq_admin::create(bootstrap(c, 3));
    if (!a) return out;
    auto l = (*a)->list("work.workers.dlq", 100000, 0);
    if (l) out = std::move(*l);
    return out;
  };
  auto dead_values = [&] {
    std::set<int> out;
    for (const auto& d : dead_letters()) out.insert(std::stoi(d.msg.value.value_or("-1")));
    return out;
  };
  auto complete = [&] {
    if (acked.size() < static_cast<size_t>(n - n / 3)) return false;
    return acked.size() + dead_values().size() >= static_cast<size_t>(n);
  };
  auto deadline = std::chrono::steady_clock::now() + 120s;
  while (!complete() && std::chrono::steady_clock::now() < deadline) {
    if (!killed && acked.size() >= 30) {
      killed = true;
      c.broker(static_cast<size_t>(coordinator)).stop(true);  // SIGKILL mid-storm
    }
    auto msgs = consumer->poll(200ms);
    if (!msgs) continue;
    std::set<client::topic_partition> failed;
    for (const auto& m : *msgs) {
      client::topic_partition tp{m.topic, m.partition};
      if (failed.count(tp)) continue;
      int i = std::stoi(m.value.value_or("-1"));
      auto d = client::delivery_count(m);
      bool ok = (i % 3 == 2) || (i % 3 == 1 && d >= 3);
      if (ok) {
        acked.insert(i);
        continue;
      }
      if (!consumer->nack(m, "storm " + std::to_string(d))) {
        // Not stored for retry (the coordinator is moving): fetch it again
        // rather than commit past it.
        failed.insert(tp);
        (void)consumer->seek(tp, m.offset);
      }
    }
    (void)consumer->commit_sync();
  }
  REQUIRE(killed);
  auto dead = dead_letters();
  std::set<int> dead_set;
  for (const auto& d : dead) dead_set.insert(std::stoi(d.msg.value.value_or("-1")));
  std::set<int> lost;
  for (int i = 0; i < n; ++i) {
    if (!acked.count(i) && !dead_set.count(i)) lost.insert(i);
  }
  INFO("acked " << acked.size() << " dead " << dead_set.size());
  CHECK(lost.empty());
  for (int i : dead_set) CHECK(i % 3 == 0);
  CHECK(dead_set.size() == static_cast<size_t>(n / 3));
  // Each dead letter: the record as produced (key, value, its own header)
  // and its history.
  for (const auto& d : dead) {
    int i = std::stoi(d.msg.value.value_or("-1"));
    INFO("dead letter " << i);
    CHECK(d.reason == "max_retries");
    CHECK(d.group == group);
    CHECK(d.original_topic == "work");
    CHECK(d.deliveries == 4);
    CHECK(d.msg.key == "k" + std::to_string(i % 7));
    CHECK(client::header_value(d.msg, "trace") == "t" + std::to_string(i));
  }

  // Re-drive them back to their topic. The cursor lives in
  // __consumer_offsets (group __redrive), so any broker's client finds it.
  auto dlq = client::dlq_admin::create(bootstrap(c, 3));
  REQUIRE(dlq);
  auto moved = (*dlq)->redrive("work.workers.dlq", "max_retries");
  INFO(moved.err().to_string());
  REQUIRE(moved);
  // Every dead letter moves; one written twice (its nack's reply lost in the
  // SIGKILL, the consumer nacked it again: at-least-once) moves twice.
  CHECK(moved->moved == dead.size());
  auto at = (*dlq)->cursor("work.workers.dlq");
  REQUIRE(at);
  CHECK(*at == moved->next_offset);
  auto pending = (*dlq)->list("work.workers.dlq");
  REQUIRE(pending);
  CHECK(pending->empty());  // nothing pending past the cursor
}
