// Integration: nack/reject, retries with backoff through the retry topic,
// dead letters with their headers, alerts, TTL, re-drive with its loop
// guard, and no loss across a SIGKILL in the middle of a retry storm.
// The broker runs with short backoffs (200ms 400ms 800ms, max 3 retries).
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "actormq/client/dead_letters.h"
#include "fixtures.h"
#include "subprocess.h"

using namespace actormq;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

/// A broker with the test retry config; alerts append to alerts.txt.
struct retry_broker {
  test::temp_dir dir{"retry-test"};
  std::unique_ptr<test::broker_process> broker;

  retry_broker() {
    auto cfg = dir.path() / "broker.toml";
    std::ofstream(cfg) << "[retry]\n"
                          "backoff = \"200ms 400ms 800ms\"\n"
                          "max_retries = 3\n"
                          "max_redrives = 2\n"
                          "[alerts]\n"
                          "hook = \"echo $AMQ_REASON $AMQ_TOPIC $AMQ_GROUP $AMQ_DELIVERIES >> "
                       << (dir.path() / "alerts.txt").string() << "\"\n";
    broker = std::make_unique<test::broker_process>(
        dir.path() / "data", std::vector<std::string>{"--config", cfg.string()});
    test::require_started(*broker);
  }

  std::string alerts() const {
    std::ifstream in(dir.path() / "alerts.txt");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
};

std::vector<client::message_id> produce(const test::broker_process& b, const std::string& topic,
                                        const std::vector<client::producer_record>& recs) {
  return test::produce_all(b, topic, recs);
}

client::producer_record value(std::string v) {
  client::producer_record r;
  r.value = std::move(v);
  return r;
}

std::unique_ptr<client::consumer> consumer_for(const test::broker_process& b,
                                               const std::string& topic, const std::string& group) {
  client::consumer_config cc;
  cc.connection = test::connection_to(b);
  cc.group_id = group;
  cc.auto_offset_reset = client::offset_reset::earliest;
  cc.fetch_max_wait_ms = 100;
  cc.session_timeout_ms = 6000;
  auto c = client::consumer::create(cc);
  REQUIRE(c);
  REQUIRE((*c)->subscribe({topic}));
  return std::move(*c);
}

std::unique_ptr<client::dlq_admin> dlq_for(const test::broker_process& b) {
  auto a = client::dlq_admin::create(test::connection_to(b));
  REQUIRE(a);
  return std::move(*a);
}

/// Polls for limit, handing each message to handle and committing after.
void run_consumer(client::consumer& c, const std::function<void(const client::message&)>& handle,
                  const std::function<bool()>& done, std::chrono::milliseconds limit = 20s) {
  auto deadline = steady::now() + limit;
  while (!done() && steady::now() < deadline) {
    auto msgs = c.poll(200ms);
    if (!msgs) continue;
    for (const auto& m : *msgs) handle(m);
    (void)c.commit_sync();
  }
}

}  // namespace

TEST_CASE("a message nacked three times then acked is delivered four times with growing gaps",
          "[app][retry]") {
  retry_broker rb;
  auto& b = *rb.broker;
  test::create_topic(b, "r1", 1);
  produce(b, "r1", {value("m1"), value("m2")});
  auto c = consumer_for(b, "r1", "g1");
  std::vector<steady::time_point> seen;
  std::vector<uint32_t> counts;
  int others = 0;
  run_consumer(
      *c,
      [&](const client::message& m) {
        if (m.value != "m1") {
          ++others;  // acked: must not wait behind m1's retries
          return;
        }
        seen.push_back(steady::now());
        counts.push_back(client::delivery_count(m));
        if (seen.size() <= 3) REQUIRE(c->nack(m, "fail " + std::to_string(seen.size())));
      },
      [&] { return seen.size() >= 4; });
  REQUIRE(seen.size() == 4);
  CHECK(others == 1);
  CHECK(counts == std::vector<uint32_t>{1, 2, 3, 4});
  auto gap = [&](size_t i) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(seen[i] - seen[i - 1]).count();
  };
  CHECK(gap(1) >= 190);
  CHECK(gap(2) >= 390);
  CHECK(gap(3) >= 790);
  CHECK(gap(2) > gap(1));
  CHECK(gap(3) > gap(2));
  // Nothing more arrives, and nothing was dead-lettered.
  auto extra = test::consume_n(*c, 1, 1500ms);
  CHECK(extra.empty());
  auto stats = dlq_for(b)->stats();
  REQUIRE(stats);
  CHECK(stats->empty());
}

TEST_CASE("a message that always fails is dead-lettered after max retries with its history",
          "[app][retry]") {
  retry_broker rb;
  auto& b = *rb.broker;
  test::create_topic(b, "r2", 1);
  auto rec = value("poison");
  rec.key = "k";
  rec.headers.push_back({"trace", std::string("abc")});
  auto ids = produce(b, "r2", {rec});
  auto c = consumer_for(b, "r2", "g2");
  int deliveries = 0;
  auto dlq = dlq_for(b);
  run_consumer(
      *c,
      [&](const client::message& m) {
        CHECK(m.id == ids[0]);  // every retry is the same message
        ++deliveries;
        REQUIRE(c->nack(m, "fail " + std::to_string(deliveries)));
      },
      [&] {
        auto l = dlq->list("r2.g2.dlq");
        return l && !l->empty();
      });
  CHECK(deliveries == 4);  // the first delivery and 3 retries
  auto l = dlq->list("r2.g2.dlq");
  REQUIRE(l);
  REQUIRE(l->size() == 1);
  const auto& d = l->front();
  CHECK(d.reason == "max_retries");
  CHECK(d.group == "g2");
  CHECK(d.original_topic == "r2");
  CHECK(d.original_partition == 0);
  CHECK(d.original_offset == 0);
  CHECK(d.deliveries == 4);
  CHECK(d.last_error == "fail 4");
  CHECK(d.dead_lettered_at_ms > 0);
  CHECK(d.msg.key == "k");
  CHECK(d.msg.value == "poison");
  CHECK(client::header_value(d.msg, "trace") == "abc");
  CHECK(d.msg.id == ids[0]);
  CHECK_FALSE(client::header_value(d.msg, "amq-id"));  // the id is not a header
  // The alert: counter and hook.
  auto stats = dlq->stats();
  REQUIRE(stats);
  REQUIRE(stats->size() == 1);
  CHECK(stats->front().topic == "r2");
  CHECK(stats->front().group == "g2");
  CHECK(stats->front().reason == "max_retries");
  CHECK(stats->front().count == 1);
  CHECK(test::eventually([&] { return rb.alerts() == "max_retries r2 g2 4\n"; }, 5s));
  CHECK(b.output().find("dead letter reason=max_retries topic=r2 group=g2") != std::string::npos);
}

TEST_CASE("a rejected message goes straight to the dead-letter topic", "[app][retry]") {
  retry_broker rb;
  auto& b = *rb.broker;
  test::create_topic(b, "r3", 2);
  client::producer_record bad = value("bad");
  bad.partition = 1;
  client::producer_record good = value("good");
  good.partition = 0;
  produce(b, "r3", {bad, good});
  auto c = consumer_for(b, "r3", "g3");
  std::map<std::string, int> seen;
  auto dlq = dlq_for(b);
  run_consumer(
      *c,
      [&](const client::message& m) {
        ++seen[*m.value];
        if (m.value == "bad") REQUIRE(c->reject(m, "unparseable"));
      },
      [&] { return seen.size() == 2; });
  auto l = dlq->list("r3.g3.dlq");
  REQUIRE(l);
  REQUIRE(l->size() == 1);
  CHECK(l->front().reason == "rejected");
  CHECK(l->front().original_partition == 1);
  CHECK(l->front().deliveries == 1);
  CHECK(l->front().last_error == "unparseable");
  // Never redelivered.
  CHECK(test::consume_n(*c, 1, 1500ms).empty());
  CHECK(seen["bad"] == 1);
}

TEST_CASE("an expired message is dead-lettered instead of delivered", "[app][retry]") {
  retry_broker rb;
  auto& b = *rb.broker;
  test::create_topic(b, "r4", 1);
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  auto stale = value("stale");
  stale.headers.push_back({client::retry_header::expires_at, std::to_string(now - 1000)});
  auto fresh = value("fresh");
  fresh.headers.push_back({client::retry_header::expires_at, std::to_string(now + 3600000)});
  produce(b, "r4", {stale, fresh});
  auto c = consumer_for(b, "r4", "g4");
  auto got = test::consume_n(*c, 1, 10s);
  REQUIRE(got.size() == 1);
  CHECK(got.front().value == "fresh");
  REQUIRE(c->commit_sync());
  auto l = dlq_for(b)->list("r4.g4.dlq");
  REQUIRE(l);
  REQUIRE(l->size() == 1);
  CHECK(l->front().reason == "ttl_expired");
  CHECK(l->front().msg.value == "stale");
}

TEST_CASE("re-drive moves dead letters back and the loop guard stops them", "[app][retry]") {
  retry_broker rb;  // max_redrives = 2
  auto& b = *rb.broker;
  test::create_topic(b, "r6", 1);
  auto ids = produce(b, "r6", {value("boomerang")});
  auto c = consumer_for(b, "r6", "g6");
  auto dlq = dlq_for(b);
  int deliveries = 0;
  std::vector<uint32_t> redrive_counts;
  auto reject_next = [&] {
    run_consumer(
        *c,
        [&](const client::message& m) {
          CHECK(m.id == ids[0]);  // a re-drive keeps the id
          ++deliveries;
          auto rc = client::header_value(m, client::retry_header::redrive_count);
          redrive_counts.push_back(rc ? static_cast<uint32_t>(std::stoul(*rc)) : 0);
          REQUIRE(c->reject(m, "still broken"));
        },
        [&] {
          auto l = dlq->list("r6.g6.dlq");
          return l && l->size() == 1;
        });
  };
  reject_next();
  for (int round = 1; round <= 2; ++round) {
    auto r = dlq->redrive("r6.g6.dlq");
    REQUIRE(r);
    CHECK(r->moved == 1);
    CHECK(r->refused == 0);
    auto l = dlq->list("r6.g6.dlq");
    REQUIRE(l);
    CHECK(l->empty());  // pending dead letters start at the cursor
    reject_next();
  }
  CHECK(deliveries == 3);
  CHECK(redrive_counts == std::vector<uint32_t>{0, 1, 2});
  // Re-driven twice already: refused, and still pending in the DLQ.
  auto r = dlq->redrive("r6.g6.dlq");
  REQUIRE(r);
  CHECK(r->moved == 0);
  CHECK(r->refused == 1);
  auto l = dlq->list("r6.g6.dlq");
  REQUIRE(l);
  REQUIRE(l->size() == 1);
  CHECK(l->front().redrives == 2);
  CHECK(test::consume_n(*c, 1, 1000ms).empty());

  // The CLI sees the same.
  auto out = test::run_subprocess(
      {ACTORMQ_CLI_BIN, "--broker", b.address(), "dlq", "list", "r6", "--group", "g6"});
  CHECK(out.exit_code == 0);
  CHECK(out.out.find("rejected") != std::string::npos);
  auto stats = test::run_subprocess({ACTORMQ_CLI_BIN, "--broker", b.address(), "dlq", "stats"});
  CHECK(stats.exit_code == 0);
  CHECK(stats.out.find("r6") != std::string::npos);
}

TEST_CASE("the consume command nacks and rejects by pattern", "[app][retry][cli]") {
  retry_broker rb;
  auto& b = *rb.broker;
  test::create_topic(b, "r8", 1);
  produce(b, "r8", {value("ok-1"), value("reject-me"), value("ok-2")});
  auto out = test::run_subprocess({ACTORMQ_CLI_BIN, "--broker", b.address(), "consume", "r8",
                                   "--group", "g8", "--from-beginning", "--reject-pattern",
                                   "^reject", "--timeout-ms", "1500"});
  CHECK(out.exit_code == 0);
  CHECK(out.out == "ok-1\nok-2\n");
  auto l = dlq_for(b)->list("r8.g8.dlq");
  REQUIRE(l);
  REQUIRE(l->size() == 1);
  CHECK(l->front().msg.value == "reject-me");
}

TEST_CASE("a SIGKILL during a retry storm loses no message", "[app][retry][restart]") {
  retry_broker rb;
  auto& b = *rb.broker;
  test::create_topic(b, "r7", 2);
  constexpr int n = 150;
  std::vector<client::producer_record> recs;
  for (int i = 0; i < n; ++i) recs.push_back(value(std::to_string(i)));
  produce(b, "r7", recs);

  // i % 3 == 0 always fails (dead-lettered after 4 deliveries), i % 3 == 1
  // fails twice then succeeds, the rest succeed at once.
  std::set<int> acked;
  int ack_events = 0;
  bool killed = false;
  std::unique_ptr<client::consumer> c = consumer_for(b, "r7", "g7");
  auto dlq_values = [&](std::multiset<int>* all) {
    std::set<int> out;
    auto a = client::dlq_admin::create(test::connection_to(b));
    if (!a) return out;
    auto l = (*a)->list("r7.g7.dlq", 100000, 0);
    if (!l) return out;
    for (const auto& d : *l) {
      out.insert(std::stoi(*d.msg.value));
      if (all) all->insert(std::stoi(*d.msg.value));
    }
    return out;
  };
  auto complete = [&] {
    if (acked.size() < static_cast<size_t>(n - n / 3)) return false;
    return acked.size() + dlq_values(nullptr).size() >= static_cast<size_t>(n);
  };
  auto deadline = steady::now() + 90s;
  while (!complete() && steady::now() < deadline) {
    if (!killed && acked.size() >= 40) {
      killed = true;
      REQUIRE(b.restart(true));  // SIGKILL, same data dir and port
    }
    auto msgs = c->poll(200ms);
    if (!msgs) continue;
    std::set<client::topic_partition> failed;
    for (const auto& m : *msgs) {
      client::topic_partition tp{m.topic, m.partition};
      if (failed.count(tp)) continue;
      int i = std::stoi(*m.value);
      auto d = client::delivery_count(m);
      bool ok = (i % 3 == 2) || (i % 3 == 1 && d >= 3);
      if (ok) {
        acked.insert(i);
        ++ack_events;
        continue;
      }
      if (!c->nack(m, "storm")) {
        // Not stored for retry: fetch it again rather than commit past it.
        failed.insert(tp);
        (void)c->seek(tp, m.offset);
      }
    }
    (void)c->commit_sync();
  }
  REQUIRE(killed);
  std::multiset<int> dlq_all;
  auto dead = dlq_values(&dlq_all);
  std::set<int> lost;
  for (int i = 0; i < n; ++i) {
    if (!acked.count(i) && !dead.count(i)) lost.insert(i);
  }
  INFO("acked " << acked.size() << " dead " << dead.size());
  CHECK(lost.empty());
  for (int i : dead) CHECK(i % 3 == 0);
  // At-least-once: duplicates come only from the window between a durable
  // write and the commit after it (the poll batch in hand at the crash, and
  // delay deliveries not yet recorded as delivered). Documented bound: at
  // most one poll batch per partition plus the retries in flight.
  auto duplicates = (ack_events - static_cast<int>(acked.size())) +
                    static_cast<int>(dlq_all.size() - dead.size());
  WARN("duplicates after SIGKILL: " << duplicates);
  CHECK(duplicates <= n / 2);
}
