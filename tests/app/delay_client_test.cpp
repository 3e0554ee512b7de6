// Delayed messages through the client library and the CLI against the real
// broker: a delayed send is scheduled, arrives at its time and not before,
// and never disturbs the immediate records of the same partition.

#include <catch2/catch.hpp>

#include <chrono>
#include <ctime>
#include <future>
#include <thread>

#include "app/fixtures.h"
#include "app/subprocess.h"

#ifndef ACTORMQ_CLI_BIN
#error "ACTORMQ_CLI_BIN must name the actormq binary"
#endif

using namespace actormq;
using namespace std::chrono_literals;

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void sleep_until_wall(int64_t ms) {
  std::this_thread::sleep_until(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

int64_t high_watermark(const test::broker_process& b, const std::string& topic) {
  auto adm = client::admin::create(test::connection_to(b));
  REQUIRE(adm);
  auto t = (*adm)->describe_topic(topic);
  REQUIRE(t);
  return t->partitions.at(0).high_watermark;
}

std::unique_ptr<client::consumer> reader(const test::broker_process& b, const std::string& topic) {
  client::consumer_config cc;
  cc.connection = test::connection_to(b);
  cc.group_id = "reader-" + topic;
  cc.auto_offset_reset = client::offset_reset::earliest;
  cc.fetch_max_wait_ms = 50;
  auto c = client::consumer::create(cc);
  REQUIRE(c);
  REQUIRE((*c)->subscribe({topic}));
  return std::move(*c);
}

struct arrival {
  client::message msg;
  int64_t seen_at_ms = 0;
};

/// Polls until n messages arrived or limit passed, noting when each came.
std::vector<arrival> arrivals(client::consumer& c, size_t n, std::chrono::milliseconds limit) {
  std::vector<arrival> out;
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
    auto r = c.poll(100ms);
    if (!r) continue;
    auto now = wall_ms();
    for (auto& m : *r) out.push_back({std::move(m), now});
  }
  return out;
}

std::unique_ptr<client::producer> make_producer(const test::broker_process& b) {
  client::producer_config pc;
  pc.connection = test::connection_to(b);
  pc.idempotent = true;
  auto p = client::producer::create(pc);
  REQUIRE(p);
  return std::move(*p);
}

client::producer_record record(const std::string& topic, const std::string& value) {
  client::producer_record r;
  r.topic = topic;
  r.key = "k";
  r.value = value;
  return r;
}

std::string rfc3339_utc(int64_t ms) {
  std::time_t secs = ms / 1000;
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%03d+00:00", static_cast<int>(ms % 1000));
  return std::string(buf) + frac;
}

test::subprocess_result cli(const test::broker_process& b, std::vector<std::string> args,
                            const std::string& input = {}) {
  std::vector<std::string> argv = {ACTORMQ_CLI_BIN, "--broker", b.address()};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::run_subprocess(argv, input, 30s);
}

}  // namespace

TEST_CASE("a delayed send with a delay level is scheduled and arrives at its time",
          "[app][delay]") {
  test::broker_process b;
  test::require_started(b);
  test::create_topic(b, "level-client", 1);
  auto prod = make_producer(b);
  auto rec = record("level-client", "after one second");
  rec.delay_level = 1;  // 1s
  auto before = wall_ms();
  auto rep = prod->send_sync(rec);
  INFO(rep.err.to_string());
  REQUIRE(rep.ok());
  CHECK(rep.scheduled);
  CHECK(rep.offset == -1);
  CHECK(rep.deliver_at_ms >= before + 1000);
  CHECK(rep.deliver_at_ms <= wall_ms() + 1000);

  auto cons = reader(b, "level-client");
  auto got = arrivals(*cons, 1, 10s);
  REQUIRE(got.size() == 1);
  CHECK(got[0].msg.value == "after one second");
  CHECK_FALSE(rep.id.empty());
  CHECK(got[0].msg.id == rep.id);  // delivered at its time under the id it was sent with
  CHECK(got[0].seen_at_ms >= rep.deliver_at_ms);
  CHECK(got[0].seen_at_ms <= rep.deliver_at_ms + 3000);
}

TEST_CASE("a delayed send with deliver at arrives at its time and not before", "[app][delay]") {
  test::broker_process b;
  test::require_started(b);
  test::create_topic(b, "at-client", 1);
  auto prod = make_producer(b);
  auto due = wall_ms() + 2000;
  // Sent within one linger window: the immediate records must not ride in
  // the delayed batch, and the delayed one must not take a sequence number
  // (the idempotent partition would refuse the next immediate batch).
  auto first = prod->send(record("at-client", "now 1"));
  auto rec = record("at-client", "at due");
  rec.deliver_at_ms = due;
  auto delayed = prod->send(rec);
  auto second = prod->send(record("at-client", "now 2"));
  REQUIRE(prod->flush(10s));
  auto r1 = first.get();
  auto rd = delayed.get();
  auto r2 = second.get();
  INFO(r1.err.to_string() << " / " << rd.err.to_string() << " / " << r2.err.to_string());
  REQUIRE(r1.ok());
  REQUIRE(rd.ok());
  REQUIRE(r2.ok());
  CHECK_FALSE(r1.scheduled);
  CHECK(r1.offset == 0);
  CHECK(r2.offset == 1);
  CHECK(rd.scheduled);
  CHECK(rd.deliver_at_ms == due);

  auto cons = reader(b, "at-client");
  auto now_ones = arrivals(*cons, 2, 10s);
  REQUIRE(now_ones.size() == 2);
  CHECK(now_ones[0].msg.value == "now 1");
  CHECK(now_ones[1].msg.value == "now 2");
  CHECK(now_ones[1].seen_at_ms < due);

  auto later = arrivals(*cons, 1, 10s);
  REQUIRE(later.size() == 1);
  CHECK(later[0].msg.value == "at due");
  CHECK(later[0].msg.offset == 2);
  CHECK(later[0].seen_at_ms >= due);
  CHECK(later[0].seen_at_ms <= due + 3000);

  // The partition's sequence has no gap: immediate sends still succeed.
  auto r3 = prod->send_sync(record("at-client", "now 3"));
  INFO(r3.err.to_string());
  CHECK(r3.ok());
  CHECK(r3.offset == 3);
}

TEST_CASE("records sent together with deliver-at times of their own each arrive at their time",
          "[app][delay]") {
  test::broker_process b;
  test::require_started(b);
  test::create_topic(b, "own-client", 1);
  auto prod = make_producer(b);
  const auto start = wall_ms();
  // Twenty records in one linger window, due 1.0 s to 2.9 s out, sent out of
  // due order, plus one whose time has passed: one delayed batch, each
  // record at its own time.
  std::vector<int64_t> due;
  std::vector<std::future<client::delivery_report>> sent;
  for (int i = 0; i < 20; ++i) {
    const int64_t at = start + 1000 + ((i * 7) % 20) * 100;
    auto rec = record("own-client", "m" + std::to_string(at - start));
    rec.deliver_at_ms = at;
    due.push_back(at);
    sent.push_back(prod->send(rec));
  }
  auto past = record("own-client", "past");
  past.deliver_at_ms = start - 5000;
  auto past_sent = prod->send(past);
  REQUIRE(prod->flush(10s));
  for (size_t i = 0; i < sent.size(); ++i) {
    auto rep = sent[i].get();
    INFO(rep.err.to_string());
    REQUIRE(rep.ok());
    CHECK(rep.scheduled);
    CHECK(rep.deliver_at_ms == due[i]);
  }
  auto rp = past_sent.get();
  REQUIRE(rp.ok());
  CHECK(rp.scheduled);
  CHECK(rp.deliver_at_ms >= start);
  CHECK(rp.deliver_at_ms < start + 1000);

  auto got = arrivals(*reader(b, "own-client"), 21, 10s);
  REQUIRE(got.size() == 21);
  CHECK(got[0].msg.value == "past");
  CHECK(got[0].seen_at_ms < start + 1000);
  std::vector<std::string> order;
  for (size_t i = 1; i < got.size(); ++i) {
    const auto at = start + std::stoll(got[i].msg.value->substr(1));
    CHECK(got[i].seen_at_ms >= at);  // never early
    CHECK(got[i].seen_at_ms <= at + 3000);
    order.push_back(*got[i].msg.value);
  }
  std::vector<std::string> by_due;
  for (int k = 0; k < 20; ++k) by_due.push_back("m" + std::to_string(1000 + k * 100));
  CHECK(order == by_due);
}

TEST_CASE("the cli delay of 2 s is not consumable at 1.5 s and is at 2.5 s", "[app][cli][delay]") {
  test::broker_process b;
  test::require_started(b);
  test::create_topic(b, "cli-later", 1);
  auto start = wall_ms();
  auto p = cli(b, {"produce", "cli-later", "--delay", "2s", "--acks", "fsync"}, "see you later\n");
  auto end = wall_ms();
  INFO(p.err);
  REQUIRE(p.exit_code == 0);
  // The line was sent between start and end, so it is due in
  // [start + 2 s, end + 2 s].
  INFO("the cli took " << end - start << " ms");
  REQUIRE(end - start < 1500);
  sleep_until_wall(start + 1500);
  CHECK(high_watermark(b, "cli-later") == 0);
  sleep_until_wall(end + 2500);
  CHECK(high_watermark(b, "cli-later") == 1);
  auto got = arrivals(*reader(b, "cli-later"), 1, 10s);
  REQUIRE(got.size() == 1);
  CHECK(got[0].msg.value == "see you later");
}

TEST_CASE("the cli deliver at an RFC 3339 time schedules every line", "[app][cli][delay]") {
  test::broker_process b;
  test::require_started(b);
  test::create_topic(b, "cli-at", 1);
  auto due = wall_ms() + 1500;
  auto p = cli(b, {"produce", "cli-at", "--deliver-at", rfc3339_utc(due)}, "a\nb\nc\n");
  INFO(p.err);
  REQUIRE(p.exit_code == 0);
  auto got = arrivals(*reader(b, "cli-at"), 3, 10s);
  REQUIRE(got.size() == 3);
  for (const auto& a : got) CHECK(a.seen_at_ms >= due);
  CHECK(got[0].msg.value == "a");
  CHECK(got[2].msg.value == "c");
}

TEST_CASE("the cli refuses a bad delay and an unknown delay level", "[app][cli][delay]") {
  test::broker_process b;
  test::require_started(b);
  test::create_topic(b, "cli-bad", 1);
  auto d = cli(b, {"produce", "cli-bad", "--delay", "soon"}, "x\n");
  CHECK(d.exit_code != 0);
  CHECK(d.err.find("--delay") != std::string::npos);
  auto t = cli(b, {"produce", "cli-bad", "--deliver-at", "2026-13-01T00:00:00Z"}, "x\n");
  CHECK(t.exit_code != 0);
  CHECK(t.err.find("RFC 3339") != std::string::npos);
  auto both = cli(b, {"produce", "cli-bad", "--delay", "1s", "--delay-level", "2"}, "x\n");
  CHECK(both.exit_code != 0);
  auto l = cli(b, {"produce", "cli-bad", "--delay-level", "19"}, "x\n");
  INFO(l.err);
  CHECK(l.exit_code != 0);
  CHECK(l.err.find("delay level 19") != std::string::npos);
  CHECK(high_watermark(b, "cli-bad") == 0);
}
