// Integration: transactional messages end to end with the real broker
// (half message, commit/rollback, check-back, restart, delay).
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include "actormq/client/transaction_producer.h"
#include "fixtures.h"
#include "raw_client.h"
#include "storage/record_batch_builder.h"
#include "support/temp_dir.h"

using namespace actormq;
using namespace std::chrono_literals;

namespace {

/// A broker whose transaction timers are short enough for tests.
struct txn_broker {
  test::temp_dir config_dir{"actormq-txn-config"};
  test::broker_process broker;

  txn_broker(int64_t timeout_ms, int64_t interval_ms, uint32_t max_checks)
      : broker({"--config", write_config(timeout_ms, interval_ms, max_checks)}) {
    test::require_started(broker);
  }

  std::string write_config(int64_t timeout_ms, int64_t interval_ms, uint32_t max_checks) {
    auto path = config_dir.path() / "txn.toml";
    std::ofstream f(path);
    f << "[transactions]\n"
      << "timeout_ms = " << timeout_ms << "\n"
      << "check_interval_ms = " << interval_ms << "\n"
      << "max_checks = " << max_checks << "\n"
      << "check_timeout_ms = 2000\n";
    return path.string();
  }
};

client::transaction_producer_config txn_config(const test::broker_process& b,
                                               const std::string& group) {
  client::transaction_producer_config c;
  c.connection = test::connection_to(b);
  c.producer_group = group;
  return c;
}

std::unique_ptr<client::transaction_producer> make_producer(const test::broker_process& b,
                                                            const std::string& group,
                                                            client::txn_checker checker) {
  auto p = client::transaction_producer::create(txn_config(b, group), std::move(checker));
  INFO(p.err().to_string());
  REQUIRE(p);
  return std::move(*p);
}

std::unique_ptr<client::consumer> make_consumer(const test::broker_process& b,
                                                const std::string& topic) {
  client::consumer_config cc;
  cc.connection = test::connection_to(b);
  cc.group_id = "verify-" + topic;
  cc.auto_offset_reset = client::offset_reset::earliest;
  cc.retry_topics = false;
  auto c = client::consumer::create(cc);
  REQUIRE(c);
  REQUIRE((*c)->subscribe({topic}));
  return std::move(*c);
}

client::producer_record record(const std::string& topic, const std::string& value) {
  client::producer_record r;
  r.topic = topic;
  r.value = value;
  r.partition = 0;
  return r;
}

/// Values consumed until `until` arrives (a plain message sent after the
/// transactional ones, so absence is shown without sleeping).
std::vector<std::string> values_until(client::consumer& c, const std::string& until) {
  std::vector<std::string> seen;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = c.poll(300ms);
    if (!r) continue;
    for (auto& m : *r) {
      seen.push_back(m.value.value_or(""));
      if (seen.back() == until) return seen;
    }
  }
  return seen;
}

void produce_plain(const test::broker_process& b, const std::string& topic,
                   const std::string& value) {
  client::producer_config pc;
  pc.connection = test::connection_to(b);
  auto p = client::producer::create(pc);
  REQUIRE(p);
  auto rec = record(topic, value);
  REQUIRE((*p)->send_sync(rec).ok());
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST_CASE("a committed half message becomes visible and a rolled back one never does",
          "[app][txn]") {
  txn_broker tb(60000, 60000, 15);
  test::create_topic(tb.broker, "orders", 1);
  auto tp = make_producer(tb.broker, "shop", {});
  auto keep = tp->send_half(record("orders", "kept"));
  auto drop = tp->send_half(record("orders", "dropped"));
  REQUIRE(keep);
  REQUIRE(drop);
  produce_plain(tb.broker, "orders", "before-decisions");
  auto consumer = make_consumer(tb.broker, "orders");
  auto before = values_until(*consumer, "before-decisions");
  CHECK_FALSE(contains(before, "kept"));  // a half message is invisible
  REQUIRE(tp->commit(*keep));
  REQUIRE(tp->rollback(*drop));
  produce_plain(tb.broker, "orders", "after-decisions");
  auto after = values_until(*consumer, "after-decisions");
  CHECK(contains(after, "kept"));
  CHECK_FALSE(contains(after, "dropped"));
}

TEST_CASE("a commit after a rollback is refused and a repeated decision is a no-op", "[app][txn]") {
  txn_broker tb(60000, 60000, 15);
  test::create_topic(tb.broker, "orders", 1);
  auto tp = make_producer(tb.broker, "shop", {});
  auto a = tp->send_half(record("orders", "a"));
  auto b = tp->send_half(record("orders", "b"));
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(tp->rollback(*a));
  CHECK(tp->rollback(*a));  // same decision again: fine
  auto late = tp->commit(*a);
  REQUIRE_FALSE(late);
  CHECK(late.err().is(client::errc::txn_already_rolled_back));
  REQUIRE(tp->commit(*b));
  CHECK(tp->commit(*b));
  auto wrong = tp->rollback(*b);
  REQUIRE_FALSE(wrong);
  CHECK(wrong.err().is(client::errc::txn_already_committed));
  auto unknown = tp->commit("424242");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.err().is(client::errc::unknown_transaction));
}

TEST_CASE(
    "a producer that disconnects after send_half is checked back by a new producer of its "
    "group which commits",
    "[app][txn]") {
  txn_broker tb(300, 300, 15);
  test::create_topic(tb.broker, "orders", 1);
  std::string id;
  {
    auto crashed = make_producer(tb.broker, "shop", {});
    auto r = crashed->send_half(record("orders", "orphan"));
    REQUIRE(r);
    id = *r;
  }  // gone without a decision
  std::mutex mu;
  std::set<std::string> checked;
  auto rescuer = make_producer(tb.broker, "shop", [&](const client::half_message& m) {
    std::lock_guard lk(mu);
    checked.insert(m.txn_id);
    return m.records.size() == 1 && m.records[0].value == "orphan" ? client::txn_status::commit
                                                                   : client::txn_status::unknown;
  });
  auto consumer = make_consumer(tb.broker, "orders");
  auto got = test::consume_n(*consumer, 1, 20s);
  REQUIRE(got.size() == 1);
  CHECK(got[0].value == "orphan");
  std::lock_guard lk(mu);
  CHECK(checked.count(id) == 1);
}

TEST_CASE(
    "a check answered unknown repeats at the interval and stops at the max in the "
    "unresolved topic",
    "[app][txn]") {
  txn_broker tb(200, 200, 3);
  test::create_topic(tb.broker, "orders", 1);
  std::atomic<int> checks{0};
  auto tp = make_producer(tb.broker, "undecided", [&](const client::half_message&) {
    ++checks;
    return client::txn_status::unknown;
  });
  auto id = tp->send_half(record("orders", "limbo"));
  REQUIRE(id);
  auto consumer = make_consumer(tb.broker, "__unresolved_transactions");
  auto got = test::consume_n(*consumer, 1, 20s);
  REQUIRE(got.size() == 1);
  CHECK(got[0].value == "limbo");
  std::map<std::string, std::string> headers;
  for (const auto& h : got[0].headers) headers[h.key] = h.value.value_or("");
  CHECK(headers["txn.id"] == *id);
  CHECK(headers["txn.topic"] == "orders");
  CHECK(headers["txn.group"] == "undecided");
  CHECK(checks.load() == 3);
  // No fourth check comes: the transaction is unresolved for good.
  CHECK_FALSE(test::eventually([&] { return checks.load() > 3; }, 800ms));
  auto late = tp->commit(*id);
  CHECK_FALSE(late);
  CHECK(tb.broker.output().find("ALERT transaction " + *id) != std::string::npos);
  auto listed = client::transaction_admin(tp->conn()).list();
  REQUIRE(listed);
  bool found = false;
  for (const auto& t : *listed) {
    if (t.txn_id == *id) {
      found = true;
      CHECK(t.state == "unresolved");
      CHECK(t.checks == 3);
    }
  }
  CHECK(found);
}

TEST_CASE("a broker killed between half and commit keeps the half message and resumes checking",
          "[app][txn]") {
  txn_broker tb(1500, 300, 15);
  test::create_topic(tb.broker, "orders", 1);
  std::string id;
  {
    auto tp = make_producer(tb.broker, "shop", {});
    auto r = tp->send_half(record("orders", "survivor"));
    REQUIRE(r);
    id = *r;
  }
  REQUIRE(tb.broker.restart(true));  // SIGKILL
  std::atomic<int> checks{0};
  auto tp = make_producer(tb.broker, "shop", [&](const client::half_message& m) {
    ++checks;
    return m.txn_id == id ? client::txn_status::commit : client::txn_status::unknown;
  });
  auto consumer = make_consumer(tb.broker, "orders");
  auto got = test::consume_n(*consumer, 1, 20s);
  REQUIRE(got.size() == 1);
  CHECK(got[0].value == "survivor");
  CHECK(checks.load() >= 1);
  // Committed: a later commit is a no-op, a rollback is refused.
  CHECK(tp->commit(id));
  CHECK(tp->rollback(id).err().is(client::errc::txn_already_committed));
}

TEST_CASE("a transactional delayed message appears at its time only after commit", "[app][txn]") {
  txn_broker tb(60000, 60000, 15);
  test::create_topic(tb.broker, "orders", 1);
  auto tp = make_producer(tb.broker, "shop", {});
  auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  auto consumer = make_consumer(tb.broker, "orders");
  // Its time passes while undecided: still invisible.
  int64_t early_at = now_ms() + 300;
  auto early = tp->send_half(record("orders", "early"), {early_at, 0});
  REQUIRE(early);
  produce_plain(tb.broker, "orders", "marker");
  CHECK(test::consume_n(*consumer, 1, 10s).at(0).value == "marker");
  CHECK(test::consume_n(*consumer, 1, 800ms).empty());
  REQUIRE(now_ms() > early_at);
  // Committed later: delivered at once.
  REQUIRE(tp->commit(*early));
  auto got = test::consume_n(*consumer, 1, 10s);
  REQUIRE(got.size() == 1);
  CHECK(got[0].value == "early");
  // Committed before its time: delivered at its time, not before.
  int64_t later_at = now_ms() + 1500;
  auto later = tp->send_half(record("orders", "later"), {later_at, 0});
  REQUIRE(later);
  REQUIRE(tp->commit(*later));
  got = test::consume_n(*consumer, 1, 10s);
  auto arrived = now_ms();
  REQUIRE(got.size() == 1);
  CHECK(got[0].value == "later");
  CHECK(arrived >= later_at);
}

TEST_CASE("a resent sendHalf with the same request id gets the first transaction", "[app][txn]") {
  // A producer whose reply was lost resends its sendHalf; the request id
  // makes it the same transaction, so one commit makes it visible once and
  // no orphan half is left to be checked back.
  test::broker_process broker;
  test::require_started(broker);
  test::create_topic(broker, "orders", 1);
  test::raw_client rc(broker.address());
  storage::record_batch_builder b;
  b.add(std::string_view("k"), std::string_view("once"), storage::timestamp_ms(1));
  auto batch = b.build();
  auto send = [&](const std::string& request_id) {
    auto req = rc.broker().sendHalfRequest();
    req.setProducerGroup("resenders");
    req.setTopic("orders");
    req.setPartition(0);
    req.setBatch(
        capnp::Data::Reader(reinterpret_cast<const kj::byte*>(batch.data()), batch.size()));
    req.setRequestId(request_id);
    auto resp = req.send().wait(rc.ws());
    INFO(resp.getError().getMessage().cStr());
    REQUIRE(resp.getError().getCode() == rpc::ErrorCode::NONE);
    return std::string(resp.getTxnId().cStr());
  };
  auto first = send("req-1");
  CHECK(send("req-1") == first);
  auto other = send("req-2");
  CHECK(other != first);
  auto conn = client::connection::connect(test::connection_to(broker));
  REQUIRE(conn);
  client::transaction_admin admin(*conn);
  REQUIRE(admin.resolve(first, true));
  REQUIRE(admin.resolve(other, false));
  // Still the same one after the commit (a late resend must not start over).
  CHECK(send("req-1") == first);
  // A request id longer than 64 bytes is refused.
  auto req = rc.broker().sendHalfRequest();
  req.setProducerGroup("resenders");
  req.setTopic("orders");
  req.setBatch(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(batch.data()), batch.size()));
  req.setRequestId(std::string(65, 'x'));
  CHECK(req.send().wait(rc.ws()).getError().getCode() == rpc::ErrorCode::INVALID_REQUEST);

  produce_plain(broker, "orders", "end");
  auto consumer = make_consumer(broker, "orders");
  auto seen = values_until(*consumer, "end");
  CHECK(std::count(seen.begin(), seen.end(), "once") == 1);
  auto listed = admin.list();
  REQUIRE(listed);
  CHECK(listed->size() == 2);  // first (committed) and other (rolled back), nothing else
}
