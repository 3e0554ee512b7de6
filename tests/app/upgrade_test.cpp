// Integration: today's broker started on a data dir written by the previous
// release (tests/fixtures/README.md) keeps its committed group offsets
// (moved into __consumer_offsets on start), its pending delayed message
// (moved onto __delay_schedule), its transactions (moved into
// __transaction_state on start) and its re-drive cursors (moved into
// __consumer_offsets).
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <map>

#include "actormq/client/dead_letters.h"
#include "actormq/client/transaction_producer.h"
#include "fixtures.h"
#include "storage/offset_store.h"
#include "storage/record_batch_builder.h"
#include "storage/txn_log.h"
#include "subprocess.h"

#ifndef ACTORMQ_FIXTURES_DIR
#error "ACTORMQ_FIXTURES_DIR must name tests/fixtures"
#endif

using namespace actormq;
using namespace std::chrono_literals;

namespace {

std::vector<int64_t> committed(const test::broker_process& b, const std::string& group,
                               const std::vector<client::topic_partition>& tps) {
  auto adm = client::admin::create(test::connection_to(b));
  REQUIRE(adm);
  auto r = (*adm)->fetch_offsets(group, tps);
  INFO(r.err().to_string());
  REQUIRE(r);
  std::vector<int64_t> out;
  for (const auto& o : *r) out.push_back(o.offset);
  return out;
}

}  // namespace

TEST_CASE("a data dir of the previous release keeps its group offsets and pending delay",
          "[app][upgrade][group]") {
  test::temp_dir dir;
  auto untar = test::run_subprocess(
      {"/bin/tar", "xzf", std::string(ACTORMQ_FIXTURES_DIR) + "/data-2d14f50.tar.gz", "-C",
       dir.path().string()},
      {}, 30s);
  INFO(untar.err);
  REQUIRE(untar.exit_code == 0);
  auto data = dir.path() / "data";
  REQUIRE(std::filesystem::exists(data / "groups" / "billing" / "offsets.log"));

  test::broker_process broker(data, {});
  test::require_started(broker);
  const std::vector<client::topic_partition> orders{{"orders", 0}, {"orders", 1}};
  CHECK(committed(broker, "billing", orders) == std::vector<int64_t>{6, -1});
  CHECK(committed(broker, "auditors", {{"audit", 0}}) == std::vector<int64_t>{5});
  // Moved: the old files are gone once __consumer_offsets has them.
  CHECK_FALSE(std::filesystem::exists(data / "groups" / "billing"));
  CHECK_FALSE(std::filesystem::exists(data / "groups" / "auditors"));
  // Its (empty) transaction log moves too, once __transaction_state-0 loads.
  CHECK(test::eventually([&] { return !std::filesystem::exists(data / "txn"); }, 10s));
  // And its pending delayed message, onto __delay_schedule.
  CHECK(test::eventually([&] { return !std::filesystem::exists(data / "delay"); }, 10s));

  // The group resumes where it was: 7..10 on orders/0, then the delayed
  // message (due 2026-12-02T02:00:00Z, long past) wherever it landed.
  {
    auto c = client::consumer::create(test::group_config(broker, "billing"));
    REQUIRE(c);
    REQUIRE((*c)->subscribe({"orders"}));
    std::vector<std::string> seen;
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (seen.size() < 5 && std::chrono::steady_clock::now() < deadline) {
      auto r = (*c)->poll(200ms);
      if (!r) continue;
      for (const auto& m : *r) seen.push_back(m.value.value_or(""));
    }
    std::sort(seen.begin(), seen.end());
    CHECK(seen == std::vector<std::string>{"10", "7", "8", "9", "delayed-one"});
    REQUIRE((*c)->commit_sync());
    (void)(*c)->close();
  }
  auto after = committed(broker, "billing", orders);

  // A restart reads the offsets back from __consumer_offsets alone.
  REQUIRE(broker.restart());
  CHECK(committed(broker, "billing", orders) == after);
  // orders/0 held 10 messages; the delayed one landed on one of the two.
  CHECK(after[0] + std::max<int64_t>(after[1], 0) == 11);
  CHECK(committed(broker, "auditors", {{"audit", 0}}) == std::vector<int64_t>{5});
}

TEST_CASE("transactions of the previous release keep their ids and outcomes after the upgrade",
          "[app][upgrade][txn]") {
  test::temp_dir dir;
  auto data = dir.path() / "data";
  std::filesystem::create_directories(data);
  // A previous release's transaction log, written by its own writer
  // (storage::txn_log, which today's broker only reads): an open
  // transaction, a commit whose delivery was never recorded (the broker
  // stopped in between), a rollback, and a delivered commit.
  uint64_t open_id = 0, undelivered_id = 0, rolled_id = 0, done_id = 0;
  {
    auto log = storage::txn_log::open(data / "txn");
    REQUIRE(log);
    auto& l = **log;
    auto half = [&](const std::string& value) {
      storage::record_batch_builder b;
      b.add(std::string_view("k"), std::string_view(value), storage::timestamp_ms(1), {});
      storage::txn_half h{"shop", "orders", 0, 0, 0, b.build()};
      auto id = l.append_half(std::move(h), storage::timestamp_ms(1000));
      REQUIRE(id);
      return (*id)();
    };
    open_id = half("open");
    undelivered_id = half("undelivered");
    rolled_id = half("rolled");
    done_id = half("done");
    auto now = storage::timestamp_ms(2000);
    REQUIRE(l.append_decision(storage::txn_id(undelivered_id), storage::txn_decision::commit, now));
    REQUIRE(l.append_decision(storage::txn_id(rolled_id), storage::txn_decision::rollback, now));
    REQUIRE(l.append_decision(storage::txn_id(done_id), storage::txn_decision::commit, now));
    REQUIRE(l.append_applied(storage::txn_id(done_id), now));
    REQUIRE(l.close());
  }

  test::broker_process broker(data, {});
  test::require_started(broker);
  auto adm = client::admin::create(test::connection_to(broker));
  REQUIRE(adm);
  client::topic_config tc;
  tc.partitions = 1;
  REQUIRE((*adm)->create_topic("orders", tc));
  auto conn = client::connection::connect(test::connection_to(broker));
  REQUIRE(conn);
  client::transaction_admin txns(*conn);

  // The undelivered commit is delivered now.
  auto read_orders = [&](size_t want) {
    client::consumer_config cc = test::group_config(broker, "verify-" + std::to_string(want));
    cc.auto_offset_reset = client::offset_reset::earliest;
    cc.retry_topics = false;
    auto c = client::consumer::create(cc);
    REQUIRE(c);
    REQUIRE((*c)->subscribe({"orders"}));
    std::vector<std::string> seen;
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (seen.size() < want && std::chrono::steady_clock::now() < deadline) {
      auto r = (*c)->poll(200ms);
      if (!r) continue;
      for (const auto& m : *r) seen.push_back(m.value.value_or(""));
    }
    (void)(*c)->close();
    return seen;
  };
  CHECK(read_orders(1) == std::vector<std::string>{"undelivered"});
  // Every transaction kept its id and its state.
  auto list = txns.list();
  REQUIRE(list);
  std::map<std::string, std::string> states;
  for (const auto& t : *list) states[t.txn_id] = t.state;
  CHECK(states[std::to_string(open_id)] == "open");
  CHECK(states[std::to_string(rolled_id)] == "rolled_back");
  CHECK(states[std::to_string(done_id)] == "committed");
  // Moved: the old directory is gone once __transaction_state has them
  // (the list above waited for every partition to load).
  CHECK_FALSE(std::filesystem::exists(data / "txn"));

  // The rollback stands; the open one commits by its old id.
  auto late = txns.resolve(std::to_string(rolled_id), true);
  REQUIRE_FALSE(late);
  CHECK(late.err().is(client::errc::txn_already_rolled_back));
  REQUIRE(txns.resolve(std::to_string(open_id), true));
  auto seen = read_orders(2);
  std::sort(seen.begin(), seen.end());
  CHECK(seen == std::vector<std::string>{"open", "undelivered"});

  // A restart reads them back from __transaction_state alone, and new ids
  // never reuse old ones.
  REQUIRE(broker.restart());
  auto conn2 = client::connection::connect(test::connection_to(broker));
  REQUIRE(conn2);
  auto again = client::transaction_admin(*conn2).list();
  REQUIRE(again);
  std::map<std::string, std::string> after;
  for (const auto& t : *again) after[t.txn_id] = t.state;
  CHECK(after[std::to_string(open_id)] == "committed");
  CHECK(after[std::to_string(rolled_id)] == "rolled_back");
  client::transaction_producer_config pc;
  pc.connection = test::connection_to(broker);
  pc.producer_group = "shop";
  auto tp = client::transaction_producer::create(pc, {});
  REQUIRE(tp);
  client::producer_record rec;
  rec.topic = "orders";
  rec.value = "new";
  rec.partition = 0;
  auto id = (*tp)->send_half(rec);
  REQUIRE(id);
  for (auto old : {open_id, undelivered_id, rolled_id, done_id}) CHECK(*id != std::to_string(old));
}

TEST_CASE("re-drive cursors of the previous release move to __consumer_offsets",
          "[app][upgrade][retry]") {
  test::temp_dir dir;
  auto data = dir.path() / "data";
  // The previous release's cursor file, written by its own writer
  // (storage::offset_store, which today's broker only reads): group
  // __redrive committed 7 on orders.billing.dlq.
  {
    auto store = storage::offset_store::open(data / "retry");
    REQUIRE(store);
    storage::offset_commit c{"orders.billing.dlq", 0, storage::offset(7), {}};
    REQUIRE((*store)->commit("__redrive", std::span(&c, 1), storage::timestamp_ms(1000)));
    REQUIRE((*store)->flush());
    REQUIRE((*store)->close());
  }
  test::broker_process broker(data, {});
  test::require_started(broker);
  auto dlq = client::dlq_admin::create(test::connection_to(broker));
  REQUIRE(dlq);
  auto at = (*dlq)->cursor("orders.billing.dlq");
  INFO(at.err().to_string());
  REQUIRE(at);
  CHECK(*at == 7);
  // Moved: the old file goes once __consumer_offsets has the cursor.
  CHECK(test::eventually([&] { return !std::filesystem::exists(data / "retry"); }, 10s));
  REQUIRE(broker.restart());
  auto again = client::dlq_admin::create(test::connection_to(broker));
  REQUIRE(again);
  auto after = (*again)->cursor("orders.billing.dlq");
  REQUIRE(after);
  CHECK(*after == 7);
  // A DLQ without a cursor starts at 0.
  auto none = (*again)->cursor("other.billing.dlq");
  REQUIRE(none);
  CHECK(*none == 0);
}
