// Integration: bounded topics (max_messages with reject-new or
// dead-letter-oldest) and the per-topic TTL, against the real broker.
#include <catch2/catch.hpp>

#include <future>

#include "actormq/client/dead_letters.h"
#include "fixtures.h"
#include "subprocess.h"

#ifndef ACTORMQ_CLI_BIN
#error "ACTORMQ_CLI_BIN must name the actormq binary"
#endif

using namespace actormq;
using namespace std::chrono_literals;

namespace {

void create_topic(const test::broker_process& b, const std::string& name,
                  const client::topic_config& cfg) {
  auto adm = client::admin::create(test::connection_to(b));
  REQUIRE(adm);
  auto r = (*adm)->create_topic(name, cfg);
  INFO(r.err().to_string());
  REQUIRE(r);
}

client::topic_config bounded(int64_t max_messages, client::full_policy policy) {
  client::topic_config cfg;
  cfg.partitions = 1;
  cfg.max_messages = max_messages;
  cfg.when_full = policy;
  return cfg;
}

std::unique_ptr<client::producer> producer_for(const test::broker_process& b) {
  client::producer_config pc;
  pc.connection = test::connection_to(b);
  pc.acks = client::acks::fsync;
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  return std::move(*prod);
}

/// Sends one record in a batch of its own and returns its delivery report.
client::delivery_report send_one(client::producer& p, const std::string& topic, std::string value,
                                 std::optional<int64_t> timestamp_ms = std::nullopt) {
  client::producer_record r;
  r.topic = topic;
  r.value = std::move(value);
  r.timestamp_ms = timestamp_ms;
  auto f = p.send(std::move(r));
  (void)p.flush(30s);
  REQUIRE(f.wait_for(30s) == std::future_status::ready);
  return f.get();
}

void require_sent(client::producer& p, const std::string& topic, const std::string& value) {
  auto rep = send_one(p, topic, value);
  INFO(value << ": " << rep.err.to_string());
  REQUIRE(rep.ok());
}

client::partition_info partition_0(const test::broker_process& b, const std::string& topic) {
  auto adm = client::admin::create(test::connection_to(b));
  REQUIRE(adm);
  auto t = (*adm)->describe_topic(topic);
  REQUIRE(t);
  REQUIRE(!t->partitions.empty());
  return t->partitions[0];
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

std::vector<client::dead_letter> dead_letters(const test::broker_process& b,
                                              const std::string& dlq) {
  auto a = client::dlq_admin::create(test::connection_to(b));
  REQUIRE(a);
  auto l = (*a)->list(dlq);
  INFO(l.err().to_string());
  REQUIRE(l);
  return *l;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TEST_CASE("a reject new topic refuses produces past its bound with queue full", "[app][bounded]") {
  test::broker_process b;
  test::require_started(b);
  // Room comes back when retention moves the log start: here after 3 s of
  // age, at the partition's next housekeeping (every 5 s).
  auto cfg = bounded(3, client::full_policy::reject_new);
  cfg.retention_ms = 3000;
  create_topic(b, "bounded-reject", cfg);
  auto p = producer_for(b);
  for (int i = 0; i < 3; ++i) require_sent(*p, "bounded-reject", "m" + std::to_string(i));
  auto refused = send_one(*p, "bounded-reject", "m3");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.err.is(client::errc::queue_full));
  CHECK(refused.err.to_string().find("max_messages 3") != std::string::npos);
  auto part = partition_0(b, "bounded-reject");
  CHECK(part.high_watermark == 3);
  CHECK(part.log_start_offset == 0);
  // Nothing refused went to a dead-letter topic.
  auto adm = client::admin::create(test::connection_to(b));
  REQUIRE(adm);
  CHECK_FALSE((*adm)->describe_topic("bounded-reject.dlq"));
  CHECK(test::eventually([&] { return b.output().find("queue full") != std::string::npos; }, 5s));

  bool accepted =
      test::eventually([&] { return send_one(*p, "bounded-reject", "after retention").ok(); }, 30s);
  CHECK(accepted);
  CHECK(partition_0(b, "bounded-reject").log_start_offset == 3);
}

TEST_CASE("a dead letter oldest topic keeps the newest messages and moves the oldest to its dlq",
          "[app][bounded]") {
  test::broker_process b;
  test::require_started(b);
  create_topic(b, "bounded-dlo", bounded(5, client::full_policy::dead_letter_oldest));
  auto p = producer_for(b);
  for (int i = 0; i < 8; ++i) require_sent(*p, "bounded-dlo", "m" + std::to_string(i));
  // Each produce was answered after its trim: the bound holds already.
  auto part = partition_0(b, "bounded-dlo");
  CHECK(part.log_start_offset == 3);
  CHECK(part.high_watermark == 8);

  auto dl = dead_letters(b, "bounded-dlo.dlq");
  REQUIRE(dl.size() == 3);
  for (size_t i = 0; i < dl.size(); ++i) {
    CHECK(dl[i].reason == "queue_full");
    CHECK(dl[i].original_topic == "bounded-dlo");
    CHECK(dl[i].original_offset == static_cast<int64_t>(i));
    CHECK(dl[i].msg.value == "m" + std::to_string(i));
  }

  auto c = consumer_for(b, "bounded-dlo", "readers");
  auto got = test::consume_n(*c, 5, 15s);
  REQUIRE(got.size() == 5);
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i].value == "m" + std::to_string(i + 3));
  CHECK(test::consume_n(*c, 1, 1s).empty());
}

TEST_CASE("the log start of a dead letter oldest topic survives a broker restart",
          "[app][bounded]") {
  test::broker_process b;
  test::require_started(b);
  create_topic(b, "bounded-restart", bounded(2, client::full_policy::dead_letter_oldest));
  {
    auto p = producer_for(b);
    for (int i = 0; i < 5; ++i) require_sent(*p, "bounded-restart", "m" + std::to_string(i));
  }
  REQUIRE(partition_0(b, "bounded-restart").log_start_offset == 3);
  REQUIRE(b.restart());
  auto part = partition_0(b, "bounded-restart");
  CHECK(part.log_start_offset == 3);
  CHECK(part.high_watermark == 5);
  CHECK(dead_letters(b, "bounded-restart.dlq").size() == 3);
  // The bound still holds after the restart.
  auto p = producer_for(b);
  require_sent(*p, "bounded-restart", "m5");
  CHECK(partition_0(b, "bounded-restart").log_start_offset == 4);
}

TEST_CASE("a topic ttl dead letters an expired message that the consumer never returns",
          "[app][bounded]") {
  test::broker_process b;
  test::require_started(b);
  client::topic_config cfg;
  cfg.partitions = 1;
  cfg.ttl_ms = 60000;
  create_topic(b, "ttl-topic", cfg);
  auto p = producer_for(b);
  auto stale = send_one(*p, "ttl-topic", "stale", now_ms() - 120000);
  REQUIRE(stale.ok());
  require_sent(*p, "ttl-topic", "fresh");

  auto c = consumer_for(b, "ttl-topic", "gt");
  auto got = test::consume_n(*c, 1, 10s);
  REQUIRE(got.size() == 1);
  CHECK(got.front().value == "fresh");
  REQUIRE(c->commit_sync());
  CHECK(test::consume_n(*c, 1, 1s).empty());

  auto dl = dead_letters(b, "ttl-topic.gt.dlq");
  REQUIRE(dl.size() == 1);
  CHECK(dl.front().reason == "ttl_expired");
  CHECK(dl.front().msg.value == "stale");
  CHECK(dl.front().original_offset == 0);
}

TEST_CASE("cli topic create sets the bound the full policy and the ttl", "[app][bounded]") {
  test::broker_process b;
  test::require_started(b);
  auto cli = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {ACTORMQ_CLI_BIN, "--broker", b.address()};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run_subprocess(argv, {}, 60s);
  };
  auto r = cli({"topic", "create", "cli-bounded", "--max-messages", "7", "--full-policy",
                "dead-letter-oldest", "--ttl-ms", "5000"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  r = cli({"topic", "describe", "cli-bounded"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("MaxMessages: 7") != std::string::npos);
  CHECK(r.out.find("FullPolicy: dead-letter-oldest") != std::string::npos);
  CHECK(r.out.find("TtlMs: 5000") != std::string::npos);
  auto adm = client::admin::create(test::connection_to(b));
  REQUIRE(adm);
  auto t = (*adm)->describe_topic("cli-bounded");
  REQUIRE(t);
  CHECK(t->config.max_messages == 7);
  CHECK(t->config.when_full == client::full_policy::dead_letter_oldest);
  CHECK(t->config.ttl_ms == 5000);
  CHECK((*adm)->describe_topic("cli-bounded.dlq"));
  r = cli({"topic", "create", "cli-bad", "--full-policy", "drop-all"});
  CHECK(r.exit_code != 0);
}
