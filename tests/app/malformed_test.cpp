// Integration: bad requests are refused with the right error while a
// well-behaved client keeps working.
#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>

#include "fixtures.h"
#include "raw_client.h"
#include "storage/record_batch_builder.h"

using namespace actormq;
using namespace std::chrono_literals;

namespace {

std::string one_record_batch(size_t value_bytes) {
  storage::record_batch_builder b;
  b.add(std::string_view("k"), std::string(value_bytes, 'v'), storage::timestamp_ms(1));
  return b.build();
}

/// Sends of the well-behaved client per section.
constexpr int good_sends = 150;

}  // namespace

TEST_CASE("malformed and oversize produce requests are refused while a good client keeps working",
          "[app][malformed]") {
  test::broker_process broker;
  test::require_started(broker);
  test::create_topic(broker, "good", 2);
  test::create_topic(broker, "bad", 1);

  // The well-behaved client produces and consumes throughout.
  std::atomic<bool> stop{false};
  std::atomic<int> good_ok{0}, good_failed{0};
  std::thread good([&] {
    client::producer_config pc;
    pc.connection = test::connection_to(broker);
    auto prod = client::producer::create(pc);
    if (!prod) {
      ++good_failed;
      return;
    }
    // Enough to overlap every bad request below (each section starts a
    // broker: 8 x 400 synchronous sends made this the suite's slowest test).
    for (int i = 0; i < good_sends && !stop; ++i) {
      client::producer_record rec{"good", std::to_string(i), std::to_string(i),
                                  {},     std::nullopt,      std::nullopt};
      auto r = (*prod)->send_sync(std::move(rec));
      r.ok() ? ++good_ok : ++good_failed;
    }
  });

  test::raw_client rc(broker.address());
  auto max_batch = client::connection::connect(test::connection_to(broker)).value()->broker_info();

  SECTION("garbage bytes") {
    // Garbage whose producer-id field is not -1 may be refused as a bad
    // idempotent request before the batch itself is validated.
    auto [code, msg] = rc.produce("bad", 0, std::string(200, '\x7f'));
    INFO(msg);
    CHECK((code == rpc::ErrorCode::INVALID_BATCH || code == rpc::ErrorCode::INVALID_REQUEST));
  }
  SECTION("a batch whose crc does not match") {
    auto batch = one_record_batch(100);
    batch[batch.size() - 3] ^= 0x55;
    auto [code, msg] = rc.produce("bad", 0, batch);
    INFO(msg);
    CHECK(code == rpc::ErrorCode::INVALID_BATCH);
  }
  SECTION("a truncated batch") {
    auto batch = one_record_batch(100);
    batch.resize(batch.size() - 10);
    auto [code, msg] = rc.produce("bad", 0, batch);
    CHECK(code == rpc::ErrorCode::INVALID_BATCH);
  }
  SECTION("an unknown topic") {
    auto [code, msg] = rc.produce("nope", 0, one_record_batch(10));
    CHECK(code == rpc::ErrorCode::UNKNOWN_TOPIC);
  }
  SECTION("an unknown partition") {
    auto [code, msg] = rc.produce("bad", 7, one_record_batch(10));
    CHECK(code == rpc::ErrorCode::UNKNOWN_PARTITION);
  }
  SECTION("a batch above the broker's max batch size") {
    storage::record_batch_builder b;
    std::string chunk(512 << 10, 'z');
    while (b.size_bytes() <= max_batch.max_batch_bytes) {
      b.add(std::nullopt, std::string_view(chunk), storage::timestamp_ms(1));
    }
    auto [code, msg] = rc.produce("bad", 0, b.build());
    INFO(msg);
    CHECK(code == rpc::ErrorCode::BATCH_TOO_LARGE);
  }
  SECTION("a record above the broker's max message size") {
    auto [code, msg] = rc.produce("bad", 0, one_record_batch(max_batch.max_message_bytes + 10));
    INFO(msg);
    CHECK(code == rpc::ErrorCode::MESSAGE_TOO_LARGE);
  }
  SECTION("the client library refuses an oversize record before sending") {
    client::producer_config pc;
    pc.connection = test::connection_to(broker);
    auto prod = client::producer::create(pc);
    REQUIRE(prod);
    auto f = (*prod)->send("bad", std::nullopt, std::string(max_batch.max_batch_bytes + 1, 'x'));
    REQUIRE(f.wait_for(10s) == std::future_status::ready);
    CHECK(f.get().err.is(client::errc::message_too_large));
  }
  // The raw session still works after each refusal.
  auto [code, msg] = rc.produce("bad", 0, one_record_batch(10));
  CHECK(code == rpc::ErrorCode::NONE);

  good.join();
  CHECK(good_failed == 0);
  CHECK(good_ok == good_sends);
}

namespace {

/// Starts a broker on config text that must be refused; returns what it
/// printed (empty if it started after all, which fails the test).
std::string refused_config_output(const test::temp_dir& dir, const std::string& text) {
  auto cfg = dir.path() / "broker.toml";
  std::ofstream(cfg) << text;
  test::broker_process b(dir.path() / "data", {"--config", cfg.string()});
  if (b.start("127.0.0.1:0", std::chrono::seconds(10))) {
    FAIL_CHECK("the broker started on: " << text);
    return {};
  }
  return b.output();
}

}  // namespace

TEST_CASE("a broker config with a bad scheduler policy or delay bucket is refused at start") {
  test::temp_dir dir{"bad-config"};
  for (const std::string& text : {std::string("[broker]\nscheduler_policy = \"fastest\"\n"),
                                  std::string("[delay]\nbucket_ms = 3600000\n")}) {
    auto out = refused_config_output(dir, text);
    INFO(out);
    CHECK((out.find("scheduler_policy") != std::string::npos ||
           out.find("bucket_ms") != std::string::npos));
  }
}

TEST_CASE("an integer setting given a float or a huge number is refused at start, naming the key") {
  test::temp_dir dir{"bad-config-number"};
  // 7e110 once reached toml++'s float-to-integer cast (undefined behaviour,
  // found by the config fuzzer: tests/fuzz/regressions/config/).
  for (const std::string& text : {std::string("[broker]\nflusher_threads = 7e110\n"),
                                  std::string("[broker]\nflusher_threads = 2.0\n"),
                                  std::string("[retry]\nmax_retries = 1e300\n")}) {
    auto out = refused_config_output(dir, text);
    INFO(out);
    CHECK((out.find("flusher_threads") != std::string::npos ||
           out.find("max_retries") != std::string::npos));
    CHECK(out.find("integer") != std::string::npos);
  }
}
