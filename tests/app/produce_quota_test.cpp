// Integration: per-topic produce quotas (docs/operations.md, "Throttle a
// flooding producer"). A producer past its topic's byte or message rate is
// held to it, its requests delayed and never failed, while a producer of
// another topic keeps being answered at once; quotas change live through
// the CLI and survive a restart.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "fixtures.h"
#include "subprocess.h"

#ifndef ACTORMQ_CLI_BIN
#error "ACTORMQ_CLI_BIN must name the actormq binary"
#endif

using namespace actormq;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

test::subprocess_result cli(const test::broker_process& b, std::vector<std::string> args) {
  std::vector<std::string> argv = {ACTORMQ_CLI_BIN, "--broker", b.address()};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::run_subprocess(argv, {}, 60s);
}

/// What a flooding producer got back.
struct flood_result {
  uint64_t acked = 0;
  uint64_t failed = 0;
  uint64_t throttled = 0;  ///< reports with throttled_ms > 0
  std::string first_error;
};

/// Sends records of value_bytes to topic as fast as the broker answers
/// (at most `window` records unanswered) until `until`, then flushes.
flood_result flood(const test::broker_process& b, const std::string& topic, size_t value_bytes,
                   steady::time_point until, size_t window = 512) {
  client::producer_config pc;
  pc.connection = test::connection_to(b);
  pc.acks = client::acks::leader;
  pc.batch_bytes = 16384;
  pc.linger_ms = 2;
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  std::mutex mu;
  std::condition_variable cv;
  flood_result r;
  uint64_t sent = 0;
  std::string value(value_bytes, 'q');
  while (steady::now() < until) {
    {
      std::unique_lock lk(mu);
      cv.wait_until(lk, until, [&] { return sent - r.acked - r.failed < window; });
      if (steady::now() >= until) break;
      ++sent;
    }
    (*prod)->send(test::record(topic, std::nullopt, value), [&](const client::delivery_report& d) {
      std::lock_guard lk(mu);
      if (d.ok()) {
        ++r.acked;
      } else {
        if (r.failed++ == 0) r.first_error = d.err.to_string();
      }
      if (d.throttled_ms > 0) ++r.throttled;
      cv.notify_all();
    });
  }
  REQUIRE((*prod)->flush(60s));
  std::lock_guard lk(mu);
  return r;
}

/// The topic's partition 0 as the broker describes it now.
client::partition_info partition0(client::admin& adm, const std::string& topic) {
  auto t = adm.describe_topic(topic);
  REQUIRE(t);
  REQUIRE(t->partitions.size() == 1);
  return t->partitions[0];
}

double seconds(steady::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

TEST_CASE(
    "a producer past its topic's quota is held to the rate without errors while another "
    "topic keeps answering at once") {
  test::broker_process b;
  test::require_started(b);
  auto adm = client::admin::create(test::connection_to(b));
  REQUIRE(adm);
  constexpr int64_t byte_rate = 200000;  // per producer connection
  constexpr int64_t message_rate = 400;
  client::topic_config cfg;
  cfg.producer_byte_rate = byte_rate;
  REQUIRE((*adm)->create_topic("flood", cfg));
  cfg = {};
  cfg.producer_message_rate = message_rate;
  REQUIRE((*adm)->create_topic("ticks", cfg));
  REQUIRE((*adm)->create_topic("calm", client::topic_config{}));
  {
    auto t = (*adm)->describe_topic("flood");
    REQUIRE(t);
    CHECK(t->config.producer_byte_rate == byte_rate);
    CHECK(t->config.producer_message_rate == 0);
  }

  // Two floods, 1 KB records by bytes and 100 B records by count, for 7 s;
  // the rates are measured from 2.5 s on (past the 1 s burst) over 4 s on
  // what the partitions stored: the log holds the batches as sent, so its
  // growth is the bytes the quota counted, and its offsets the messages.
  auto start = steady::now();
  auto until = start + 7s;
  std::future<flood_result> by_bytes =
      std::async(std::launch::async, [&] { return flood(b, "flood", 1000, until); });
  std::future<flood_result> by_count =
      std::async(std::launch::async, [&] { return flood(b, "ticks", 100, until); });

  // Meanwhile another producer's records to "calm", one at a time.
  client::producer_config pc;
  pc.connection = test::connection_to(b);
  pc.acks = client::acks::leader;
  auto calm = client::producer::create(pc);
  REQUIRE(calm);
  std::vector<double> calm_latency;
  uint32_t calm_throttled = 0;
  std::optional<client::partition_info> bytes_from, ticks_from;
  steady::time_point from_at{};
  while (steady::now() < until) {
    if (!bytes_from && steady::now() >= start + 2500ms) {
      from_at = steady::now();
      bytes_from = partition0(**adm, "flood");
      ticks_from = partition0(**adm, "ticks");
    }
    auto t0 = steady::now();
    auto rep = (*calm)->send_sync(test::record("calm", std::nullopt, "still here"));
    INFO(rep.err.to_string());
    REQUIRE(rep.ok());
    calm_latency.push_back(seconds(steady::now() - t0));
    calm_throttled += rep.throttled_ms;
    if (bytes_from && steady::now() >= from_at + 4s) break;
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE(bytes_from);
  auto to_at = steady::now();
  auto bytes_to = partition0(**adm, "flood");
  auto ticks_to = partition0(**adm, "ticks");
  double span = seconds(to_at - from_at);

  auto fb = by_bytes.get();
  auto fc = by_count.get();
  INFO(fb.first_error << " / " << fc.first_error);
  CHECK(fb.failed == 0);
  CHECK(fc.failed == 0);
  CHECK(fb.throttled > 0);
  CHECK(fc.throttled > 0);

  double got_bytes = static_cast<double>(bytes_to.size_bytes - bytes_from->size_bytes) / span;
  double got_messages =
      static_cast<double>(ticks_to.high_watermark - ticks_from->high_watermark) / span;
  INFO("bytes/s " << got_bytes << " messages/s " << got_messages << " over " << span << " s");
  CHECK(got_bytes == Approx(byte_rate).epsilon(0.10));
  CHECK(got_messages == Approx(message_rate).epsilon(0.10));

  // The flooded topics' requests waited for seconds in all; "calm" was
  // never held, and answered each record in well under a second.
  REQUIRE_FALSE(calm_latency.empty());
  CHECK(calm_throttled == 0);
  CHECK(*std::max_element(calm_latency.begin(), calm_latency.end()) < 1.0);

  // The registry reports what was held, per topic (inspector state).
  auto json = (*adm)->inspect(false);
  REQUIRE(json);
  CHECK(json->find("\"produce_throttled\"") != std::string::npos);
  CHECK(json->find("\"producer_byte_rate\":200000") != std::string::npos);
}

TEST_CASE("a produce quota changes live through topic alter and survives a restart") {
  test::broker_process b;
  test::require_started(b);
  REQUIRE(cli(b, {"topic", "create", "orders", "--producer-byte-rate", "100000"}).exit_code == 0);
  auto d = cli(b, {"topic", "describe", "orders"});
  REQUIRE(d.exit_code == 0);
  CHECK(d.out.find("ProducerByteRate: 100000") != std::string::npos);

  // Lifted: 2 MB, 20 s worth at the old rate, pass without being held.
  auto r = cli(b, {"topic", "alter", "orders", "--producer-byte-rate", "0"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("unlimited bytes/s") != std::string::npos);
  {
    client::producer_config pc;
    pc.connection = test::connection_to(b);
    pc.acks = client::acks::leader;
    pc.batch_bytes = 65536;
    auto prod = client::producer::create(pc);
    REQUIRE(prod);
    std::vector<std::future<client::delivery_report>> fs;
    for (int i = 0; i < 2000; ++i) {
      fs.push_back((*prod)->send(test::record("orders", std::nullopt, std::string(1000, 'o'))));
    }
    REQUIRE((*prod)->flush(60s));
    uint32_t held = 0;
    for (auto& f : fs) {
      auto rep = f.get();
      REQUIRE(rep.ok());
      held += rep.throttled_ms;
    }
    CHECK(held == 0);
  }

  // Set on a topic that had none: 50 messages/s, so 200 records take at
  // least 3 s past the 50-message burst (each batch held in turn).
  r = cli(b, {"topic", "alter", "orders", "--producer-message-rate", "50"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  {
    client::producer_config pc;
    pc.connection = test::connection_to(b);
    pc.acks = client::acks::leader;
    pc.batch_bytes = 2048;  // about 20 records a batch
    auto prod = client::producer::create(pc);
    REQUIRE(prod);
    std::vector<std::future<client::delivery_report>> fs;
    auto t0 = steady::now();
    for (int i = 0; i < 200; ++i) {
      fs.push_back((*prod)->send(test::record("orders", std::nullopt, std::string(80, 'm'))));
    }
    REQUIRE((*prod)->flush(60s));
    CHECK(seconds(steady::now() - t0) >= 2.7);
    uint32_t held = 0;
    for (auto& f : fs) {
      auto rep = f.get();
      REQUIRE(rep.ok());
      held = std::max(held, rep.throttled_ms);
    }
    CHECK(held > 0);
  }

  // Persisted in topic.conf: a SIGKILL and restart keep it.
  REQUIRE(b.restart(true));
  d = cli(b, {"topic", "describe", "orders"});
  REQUIRE(d.exit_code == 0);
  CHECK(d.out.find("ProducerMessageRate: 50") != std::string::npos);
  CHECK(d.out.find("ProducerByteRate") == std::string::npos);

  // Refusals: an unknown topic, and nothing to alter.
  r = cli(b, {"topic", "alter", "nope", "--producer-byte-rate", "10"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("unknown topic") != std::string::npos);
  r = cli(b, {"topic", "alter", "orders"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("needs --partitions") != std::string::npos);
}
