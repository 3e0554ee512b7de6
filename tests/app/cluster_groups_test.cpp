// Integration: consumer groups in a real 3-broker cluster whose coordinator
// is killed. The group's committed offsets live in the replicated internal
// topic __consumer_offsets; the leader of the group's partition of it
// coordinates the group (actors/group/group_coordinator_state.h).
#include <catch2/catch.hpp>

#include <algorithm>
#include <future>
#include <map>
#include <set>

#include "actors/group/offset_record.h"
#include "cluster_fixtures.h"

using namespace actormq;
using namespace std::chrono_literals;

namespace {

using test::bootstrap;

/// The broker leading the group's partition of __consumer_offsets.
int32_t coordinator_of(client::admin& adm, const std::string& group) {
  return test::state_leader_of(adm, group::offsets_topic, group);
}

}  // namespace

TEST_CASE(
    "a group whose coordinator is SIGKILLed resumes at the new one from its committed offsets",
    "[app][cluster][group]") {
  test::cluster_process c;
  test::require_formed(c, 3);
  auto adm = client::admin::create(bootstrap(c, 3));
  REQUIRE(adm);
  client::topic_config tc;
  tc.partitions = 2;
  tc.replication_factor = 3;
  REQUIRE((*adm)->create_topic("events", tc));
  test::require_led(**adm, "events", 2);
  auto produce = [&](int from, int to) {
    client::producer_config pc;
    pc.connection = bootstrap(c, 3);
    pc.acks = client::acks::all;
    auto p = client::producer::create(pc);
    REQUIRE(p);
    std::vector<std::future<client::delivery_report>> acks;
    for (int i = from; i < to; ++i) {
      acks.push_back((*p)->send("events", "k" + std::to_string(i % 16), std::to_string(i)));
    }
    REQUIRE((*p)->flush());
    for (auto& a : acks) REQUIRE(a.get().ok());
  };
  produce(0, 400);

  const std::string group = "resumers";
  client::consumer_config cc;
  cc.connection = bootstrap(c, 3);
  cc.group_id = group;
  cc.session_timeout_ms = 3000;
  cc.auto_offset_reset = client::offset_reset::earliest;
  cc.fetch_max_wait_ms = 200;
  cc.max_poll_records = 50;
  auto consumer = client::consumer::create(cc);
  REQUIRE(consumer);
  REQUIRE((*consumer)->subscribe({"events"}));
  std::set<std::string> seen;
  auto consume_until = [&](size_t n, std::chrono::seconds bound) {
    auto deadline = std::chrono::steady_clock::now() + bound;
    while (seen.size() < n && std::chrono::steady_clock::now() < deadline) {
      auto r = (*consumer)->poll(200ms);
      if (!r) continue;
      for (const auto& m : *r) seen.insert(m.value.value_or(""));
      (void)(*consumer)->commit_sync();  // fails while the coordinator moves
    }
    return seen.size() >= n;
  };
  REQUIRE(consume_until(150, 30s));
  REQUIRE((*consumer)->commit_sync());
  const std::vector<client::topic_partition> tps{{"events", 0}, {"events", 1}};
  auto before = (*adm)->fetch_offsets(group, tps);
  REQUIRE(before);
  REQUIRE(before->size() == 2);
  CHECK((*before)[0].offset + (*before)[1].offset >= 150);

  auto coord = coordinator_of(**adm, group);
  INFO("coordinator " << coord);
  c.broker(static_cast<size_t>(coord)).stop(true);  // SIGKILL

  // More messages after the kill; the member carries on at the new
  // coordinator and misses none.
  produce(400, 600);
  CHECK(consume_until(600, 60s));
  CHECK(seen.size() == 600);
  auto after_kill = client::admin::create(bootstrap(c, 3));
  REQUIRE(after_kill);
  CHECK(test::eventually([&] { return coordinator_of(**after_kill, group) != coord; }, 20s));
  std::vector<client::topic_partition_offset> after;
  REQUIRE(test::eventually(
      [&] {
        if (!(*consumer)->commit_sync()) return false;
        auto r = (*after_kill)->fetch_offsets(group, tps);
        if (!r || r->size() != 2) return false;
        after = *r;
        return after[0].offset + after[1].offset == 600;
      },
      30s));
  // No committed offset went back.
  CHECK(after[0].offset >= (*before)[0].offset);
  CHECK(after[1].offset >= (*before)[1].offset);
  (void)(*consumer)->close();
}

TEST_CASE("group list at one broker shows the groups every coordinator holds",
          "[app][cluster][group]") {
  test::cluster_process c;
  test::require_formed(c, 3);
  auto adm = client::admin::create(test::connection_to(c.broker(0)));
  REQUIRE(adm);
  client::topic_config tc;
  tc.partitions = 1;
  REQUIRE((*adm)->create_topic("listed", tc));
  test::require_led(**adm, "listed", 1);
  // Groups until two coordinators hold some (the names hash to partitions
  // of __consumer_offsets, whose leaders are spread over the brokers).
  std::set<int32_t> coordinators;
  std::vector<std::string> names;
  for (int i = 0; i < 40 && coordinators.size() < 2; ++i) {
    auto name = "listed-" + std::to_string(i);
    names.push_back(name);
    coordinators.insert(coordinator_of(**adm, name));
  }
  REQUIRE(coordinators.size() >= 2);
  std::vector<std::unique_ptr<client::consumer>> members;
  for (const auto& name : names) {
    auto cc = test::group_config(c.broker(1), name);
    cc.connection = bootstrap(c, 3);
    auto m = client::consumer::create(cc);
    REQUIRE(m);
    REQUIRE((*m)->subscribe({"listed"}));
    (void)(*m)->poll(100ms);  // joins
    members.push_back(std::move(*m));
  }
  std::sort(names.begin(), names.end());
  std::vector<std::string> listed;
  CHECK(test::eventually([&] {
    auto r = (*adm)->list_groups();
    if (!r) return false;
    listed = *r;
    return std::includes(listed.begin(), listed.end(), names.begin(), names.end());
  }));
  INFO(listed.size() << " groups listed");
  CHECK(listed.size() >= names.size());
  for (auto& m : members) (void)m->close();
}

TEST_CASE("group describe shows the lag of partitions led by every broker",
          "[app][cluster][group]") {
  // Three partitions with one replica each, led by three brokers: the
  // group's coordinator holds at most one of them, and must still report
  // the high watermark and lag of all three (it asks their leaders).
  test::cluster_process c;
  test::require_formed(c, 3);
  auto adm = client::admin::create(bootstrap(c, 3));
  REQUIRE(adm);
  client::topic_config tc;
  tc.partitions = 3;
  tc.replication_factor = 1;
  REQUIRE((*adm)->create_topic("spread", tc));
  auto t = test::require_led(**adm, "spread", 3);
  std::set<int32_t> leaders;
  for (const auto& p : t.partitions) leaders.insert(p.leader);
  REQUIRE(leaders.size() == 3);

  client::producer_config pc;
  pc.connection = bootstrap(c, 3);
  auto p = client::producer::create(pc);
  REQUIRE(p);
  for (uint32_t part = 0; part < 3; ++part) {
    for (int i = 0; i < 10; ++i) {
      client::producer_record rec;
      rec.topic = "spread";
      rec.partition = part;
      rec.value = std::to_string(i);
      REQUIRE((*p)->send_sync(std::move(rec)).ok());
    }
  }
  client::consumer_config cc;
  cc.connection = bootstrap(c, 3);
  cc.group_id = "laggards";
  cc.auto_offset_reset = client::offset_reset::earliest;
  cc.retry_topics = false;
  auto consumer = client::consumer::create(cc);
  REQUIRE(consumer);
  REQUIRE((*consumer)->subscribe({"spread"}));
  REQUIRE(test::eventually([&] {
    (void)(*consumer)->poll(100ms);
    return (*consumer)->assignment().size() == 3;
  }));
  REQUIRE((*consumer)->commit_sync({{"spread", 0, 4}, {"spread", 1, 4}, {"spread", 2, 4}}));

  auto g = (*adm)->describe_group("laggards");
  INFO(g.err().to_string());
  REQUIRE(g);
  std::map<uint32_t, client::partition_lag> by_partition;
  for (const auto& pl : g->partitions) {
    if (pl.topic == "spread") by_partition[pl.partition] = pl;
  }
  REQUIRE(by_partition.size() == 3);
  for (const auto& [part, pl] : by_partition) {
    INFO("partition " << part);
    CHECK(pl.committed == 4);
    CHECK(pl.high_watermark == 10);
    CHECK(pl.lag == 6);
  }
  (void)(*consumer)->close();
}

TEST_CASE(
    "a group deleted through any broker stays deleted after its coordinator is SIGKILLed, and "
    "other groups keep their offsets",
    "[app][cluster][group][group_delete]") {
  test::cluster_process c;
  test::require_formed(c, 3);
  auto adm = client::admin::create(bootstrap(c, 3));
  REQUIRE(adm);
  client::topic_config tc;
  tc.partitions = 1;
  tc.replication_factor = 3;
  REQUIRE((*adm)->create_topic("work", tc));
  test::require_led(**adm, "work", 1);
  const std::vector<client::topic_partition> tps{{"work", 0}};
  // Standalone commits (no members): both groups exist with offset 7.
  for (const std::string g : {"gone", "kept"}) {
    REQUIRE(test::eventually(
        [&] {
          return bool((*adm)->commit_offsets(g, {{"work", 0, 7}}));
        },
        20s));
  }
  auto offset_of = [&](client::admin& a, const std::string& g) -> int64_t {
    auto r = a.fetch_offsets(g, tps);
    return r && r->size() == 1 ? r->front().offset : -2;
  };
  REQUIRE(offset_of(**adm, "gone") == 7);

  // Asked at a broker that does not coordinate it: the client follows the
  // redirect.
  auto coord = coordinator_of(**adm, "gone");
  INFO("coordinator " << coord);
  auto other =
      client::admin::create(test::connection_to(c.broker(static_cast<size_t>((coord + 1) % 3))));
  REQUIRE(other);
  REQUIRE((*other)->delete_group("gone"));
  CHECK(offset_of(**adm, "gone") == -1);
  CHECK(offset_of(**adm, "kept") == 7);

  c.broker(static_cast<size_t>(coord)).stop(true);  // SIGKILL
  auto after = client::admin::create(bootstrap(c, 3));
  REQUIRE(after);
  REQUIRE(test::eventually([&] { return coordinator_of(**after, "gone") != coord; }, 20s));
  // The new coordinator replayed the replicated tombstone.
  REQUIRE(test::eventually([&] { return offset_of(**after, "kept") == 7; }, 30s));
  CHECK(offset_of(**after, "gone") == -1);
  auto groups = (*after)->list_groups();
  REQUIRE(groups);
  CHECK(std::find(groups->begin(), groups->end(), "gone") == groups->end());
  CHECK(std::find(groups->begin(), groups->end(), "kept") != groups->end());
  auto again = (*after)->delete_group("gone");
  REQUIRE_FALSE(again);
  CHECK(again.err().is(client::errc::unknown_group));
}
