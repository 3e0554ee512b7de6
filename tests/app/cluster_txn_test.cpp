// Integration: transactional messages in a real 3-broker cluster whose
// transaction coordinator is killed. Half messages, decisions and checks
// live in the replicated internal topic __transaction_state; the leader of
// the producer group's partition of it coordinates the group's
// transactions (actors/txn/txn_coordinator_actor.h).
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "actormq/client/transaction_producer.h"
#include "actors/group/offset_record.h"
#include "actors/txn/txn_state_record.h"
#include "cluster_fixtures.h"

using namespace actormq;
using namespace std::chrono_literals;

namespace {

using test::bootstrap;

/// The broker leading the partition of __transaction_state that holds
/// producer group's transactions.
int32_t txn_coordinator_of(client::admin& adm, const std::string& group) {
  return test::state_leader_of(adm, txn::state_topic, group);
}

client::producer_record record(const std::string& topic, const std::string& value,
                               uint32_t partition = 0) {
  client::producer_record r;
  r.topic = topic;
  r.value = value;
  r.partition = partition;
  return r;
}

}  // namespace

TEST_CASE(
    "transactions survive the SIGKILL of their coordinator: the new one checks back and each "
    "has exactly one outcome",
    "[app][cluster][txn]") {
  test::cluster_process c;
  // Checked every second, never given up on within the test (a loaded
  // machine may take long to fail over; "unresolved" is not what is tested).
  c.add_cluster_config(
      "[transactions]\ntimeout_ms = 1500\ncheck_interval_ms = 1000\nmax_checks = 1000\n");
  test::require_formed(c, 3);
  auto adm = client::admin::create(bootstrap(c, 3));
  REQUIRE(adm);
  // Three partitions, led by three brokers: most commits are delivered to a
  // partition another broker leads (through its NODE actor).
  client::topic_config tc;
  tc.partitions = 3;
  tc.replication_factor = 3;
  REQUIRE((*adm)->create_topic("orders", tc));
  test::require_led(**adm, "orders", 3);

  // The producer's "database": what its local transactions decided.
  std::mutex mu;
  std::map<std::string, client::txn_status> decided;
  std::map<std::string, int> asked;
  auto checker = [&](const client::half_message& m) {
    std::lock_guard lk(mu);
    std::string v = m.records.empty() ? "" : m.records[0].value.value_or("");
    ++asked[v];
    auto it = decided.find(v);
    return it == decided.end() ? client::txn_status::unknown : it->second;
  };
  const std::string group = "shop";
  client::transaction_producer_config pc;
  pc.connection = bootstrap(c, 3);
  pc.producer_group = group;
  auto producer = client::transaction_producer::create(pc, checker);
  INFO(producer.err().to_string());
  REQUIRE(producer);
  auto& tp = **producer;

  auto committed = tp.send_half(record("orders", "committed-before", 0));
  auto rolled = tp.send_half(record("orders", "rolled-back-before", 0));
  auto open_checked = tp.send_half(record("orders", "open-checked", 1));
  auto open_by_id = tp.send_half(record("orders", "open-by-id", 2));
  REQUIRE(committed);
  REQUIRE(rolled);
  REQUIRE(open_checked);
  REQUIRE(open_by_id);
  // Ids name their partition of __transaction_state.
  auto id_partition = [](const std::string& id) { return txn::txn_partition_of(std::stoull(id)); };
  CHECK(id_partition(*committed) == id_partition(*open_by_id));
  REQUIRE(tp.commit(*committed));
  REQUIRE(tp.rollback(*rolled));

  auto coord = txn_coordinator_of(**adm, group);
  INFO("transaction coordinator " << coord);
  c.broker(static_cast<size_t>(coord)).stop(true);  // SIGKILL between half and commit
  {
    std::lock_guard lk(mu);
    decided["open-checked"] = client::txn_status::commit;  // the local transaction committed
  }

  auto after = client::admin::create(bootstrap(c, 3));
  REQUIRE(after);
  CHECK(test::eventually([&] { return txn_coordinator_of(**after, group) != coord; }, 30s));
  // Decided before the kill: the rollback is never undone.
  auto again = tp.commit(*rolled);
  REQUIRE_FALSE(again);
  CHECK(again.err().is(client::errc::txn_already_rolled_back));
  // A commit by id alone reaches the new coordinator.
  auto by_id = tp.commit(*open_by_id);
  INFO(by_id.err().to_string());
  REQUIRE(by_id);
  // The other open one is checked back by the new coordinator.
  CHECK(test::eventually(
      [&] {
        std::lock_guard lk(mu);
        return asked["open-checked"] > 0;
      },
      30s));

  auto seen = test::read_values(c, "orders", 3, 30s);
  std::sort(seen.begin(), seen.end());
  CHECK(seen == std::vector<std::string>{"committed-before", "open-by-id", "open-checked"});
  // Exactly once: nothing else arrives.
  auto later = test::read_values(c, "orders", 4, 3s);
  CHECK(later.size() == 3);
  std::lock_guard lk(mu);
  CHECK(asked["committed-before"] == 0);  // a decided transaction is never checked
}

TEST_CASE("transaction list at one broker shows the transactions every coordinator holds",
          "[app][cluster][txn]") {
  test::cluster_process c;
  test::require_formed(c, 3);
  auto adm = client::admin::create(bootstrap(c, 3));
  REQUIRE(adm);
  client::topic_config tc;
  tc.partitions = 1;
  tc.replication_factor = 3;
  REQUIRE((*adm)->create_topic("orders", tc));
  test::require_led(**adm, "orders", 1);
  // Producer groups whose transactions two different brokers coordinate.
  std::vector<std::string> groups;
  std::set<int32_t> coordinators;
  for (int i = 0; i < 64 && coordinators.size() < 2; ++i) {
    auto g = "g" + std::to_string(i);
    auto at = txn_coordinator_of(**adm, g);
    if (coordinators.insert(at).second) groups.push_back(g);
  }
  REQUIRE(coordinators.size() == 2);
  std::set<std::string> ids;
  std::vector<std::unique_ptr<client::transaction_producer>> producers;
  for (const auto& g : groups) {
    client::transaction_producer_config pc;
    pc.connection = bootstrap(c, 3);
    pc.producer_group = g;
    auto p = client::transaction_producer::create(pc, {});
    REQUIRE(p);
    auto id = (*p)->send_half(record("orders", "from-" + g));
    REQUIRE(id);
    ids.insert(*id);
    producers.push_back(std::move(*p));
  }
  // Ask a broker that coordinates neither, if there is one; any broker
  // gives the whole list.
  for (size_t b = 0; b < 3; ++b) {
    auto cc = test::connection_to(c.broker(b));
    auto conn = client::connection::connect(cc);
    REQUIRE(conn);
    auto list = client::transaction_admin(*conn).list();
    REQUIRE(list);
    std::set<std::string> listed;
    for (const auto& t : *list) listed.insert(t.txn_id);
    for (const auto& id : ids) CHECK(listed.count(id) == 1);
  }
}
