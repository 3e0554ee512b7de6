// Integration: the coordinators' internal topics (__consumer_offsets,
// __transaction_state, __delay_schedule) in a real cluster whose last broker registered after
// the controller's wait. The controller created them with the brokers it
// had; once the late broker is live it grows their replica lists to
// internal_replication_factor, the new replicas catch up and join the
// in-sync sets, and the loss of any one broker leaves every coordinator
// running (controller.h, docs/cluster.md).
#include <catch2/catch.hpp>

#include <future>
#include <map>
#include <regex>
#include <string>

#include "actors/delay/delay_schedule_record.h"
#include "actors/group/group_actor.h"
#include "actors/txn/txn_state_record.h"
#include "cluster_fixtures.h"

using namespace actormq;
using namespace std::chrono_literals;

namespace {

using test::bootstrap;

const std::vector<std::string> internal_topics{group::offsets_topic, txn::state_topic,
                                               delay::schedule_topic};

/// Every partition of both internal topics, as the broker behind adm sees
/// them (false while either is missing).
bool internal_partitions(client::admin& adm, std::vector<client::partition_metadata>& out) {
  auto m = adm.metadata(internal_topics, true);
  if (!m || m->topics.size() != internal_topics.size()) return false;
  out.clear();
  for (const auto& t : m->topics) {
    if (t.err || t.partitions.empty()) return false;
    out.insert(out.end(), t.partitions.begin(), t.partitions.end());
  }
  return true;
}

/// True when every partition of both internal topics has n replicas, all n
/// in sync, and a leader.
bool all_full(const std::vector<client::partition_metadata>& ps, size_t n) {
  for (const auto& p : ps) {
    if (p.leader < 0 || p.replicas.size() != n || p.isr.size() != n) return false;
  }
  return true;
}

bool internal_topics_full(client::admin& adm, size_t n) {
  std::vector<client::partition_metadata> ps;
  return internal_partitions(adm, ps) && all_full(ps, n);
}

/// How many times each "controller: <topic>-<p> gets replica ..." line was
/// logged, over every broker's output.
std::map<std::string, int> growth_lines(test::cluster_process& c) {
  static const std::regex line("controller: (__[a-z_]+-[0-9]+) gets replica 2 \\(now 3 of 3\\)");
  std::map<std::string, int> out;
  for (size_t i = 0; i < c.size(); ++i) {
    auto text = c.broker(i).output();
    for (std::sregex_iterator it(text.begin(), text.end(), line), end; it != end; ++it) {
      ++out[(*it)[1].str()];
    }
  }
  return out;
}

}  // namespace

TEST_CASE(
    "a broker that joins after the internal topics were created makes the coordinators survive "
    "the loss of any one broker",
    "[app][cluster][group]") {
  test::cluster_process c;
  // Fewer brokers than internal_replication_factor: the controller waits
  // 500 ms, then creates the internal topics with both.
  c.add_cluster_config("internal_replication_factor = 3\ninternal_topic_wait_ms = 500\n");
  test::require_formed(c, 2);
  auto adm = client::admin::create(bootstrap(c, 2));
  REQUIRE(adm);
  REQUIRE(test::eventually([&] { return internal_topics_full(**adm, 2); }, 20s));
  auto offsets = (*adm)->metadata({group::offsets_topic}, true);
  REQUIRE(offsets);
  REQUIRE(offsets->topics.size() == 1);
  for (const auto& p : offsets->topics[0].partitions) CHECK(p.replicas.size() == 2);

  // The late broker: every partition of both topics grows to 3 replicas,
  // all in sync.
  {
    INFO(c.error());
    REQUIRE(c.add_broker());
  }
  std::vector<client::partition_metadata> seen;
  CHECK(test::eventually(
      [&] {
        auto a = client::admin::create(bootstrap(c, 3));
        // One answer for both: the checks below look at what made this true.
        return a && internal_partitions(**a, seen) && all_full(seen, 3);
      },
      30s));
  for (const auto& p : seen) {
    INFO("partition " << p.partition << " replicas " << p.replicas.size() << " isr "
                      << p.isr.size());
    CHECK(p.isr.size() == 3);
  }
  // One INFO line per grown partition, none repeated.
  auto lines = growth_lines(c);
  CHECK(lines.size() == seen.size());
  for (const auto& [partition, count] : lines) {
    INFO(partition);
    CHECK(count == 1);
  }

  client::topic_config tc;
  tc.partitions = 1;
  tc.replication_factor = 3;
  REQUIRE((*adm)->create_topic("orders", tc));
  test::require_led(**adm, "orders", 1);
  client::producer_config pc;
  pc.connection = bootstrap(c, 3);
  auto producer = client::producer::create(pc);
  REQUIRE(producer);
  std::vector<std::future<client::delivery_report>> acks;
  for (int i = 0; i < 20; ++i) acks.push_back((*producer)->send("orders", "k", std::to_string(i)));
  REQUIRE((*producer)->flush());
  for (auto& a : acks) REQUIRE(a.get().ok());

  // SIGKILL the group's coordinator, one of the two original brokers: its
  // partition of __consumer_offsets keeps two in-sync replicas.
  const std::string group = "late-joiners";
  auto coordinator = test::state_leader_of(**adm, group::offsets_topic, group);
  REQUIRE(coordinator >= 0);
  c.broker(static_cast<size_t>(coordinator)).stop(true);
  auto after = client::admin::create(bootstrap(c, 3));
  REQUIRE(after);
  auto cc = test::group_config(c.broker(coordinator == 0 ? 1 : 0), group);
  cc.connection = bootstrap(c, 3);
  cc.retry_topics = false;  // orders-0 is the whole assignment
  auto consumer = client::consumer::create(cc);
  REQUIRE(consumer);
  REQUIRE((*consumer)->subscribe({"orders"}));
  REQUIRE(test::eventually(
      [&] {
        (void)(*consumer)->poll(100ms);
        return (*consumer)->assignment().size() == 1;
      },
      30s));
  REQUIRE(test::eventually(
      [&] {
        return bool((*consumer)->commit_sync({{"orders", 0, 15}}));
      },
      30s));
  std::vector<client::topic_partition_offset> committed;
  REQUIRE(test::eventually(
      [&] {
        auto r = (*after)->fetch_offsets(group, {{"orders", 0}});
        if (!r || r->size() != 1) return false;
        committed = *r;
        return committed[0].offset == 15;
      },
      20s));
  (void)(*consumer)->close();

  // A new member of the group starts at the committed offset.
  auto next = client::consumer::create(cc);
  REQUIRE(next);
  REQUIRE((*next)->subscribe({"orders"}));
  int64_t first = -1;
  CHECK(test::eventually(
      [&] {
        auto r = (*next)->poll(200ms);
        if (r && !r->empty()) first = r->front().offset;
        return first >= 0;
      },
      30s));
  CHECK(first == 15);
  (void)(*next)->close();
}
