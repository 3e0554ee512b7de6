// Integration: a producer whose broker freezes (SIGSTOP) with megabytes of
// batches still being written. The requests time out and the records fail,
// but their writes stay queued in the connection; when the broker thaws
// they go out. The bytes those writes read must still be the batches' own
// (write_pins.h): freed, the sanitizer build aborts here, and a plain build
// would send whatever reused the memory.
#include <catch2/catch.hpp>

#include <map>

#include "actormq/client/reader.h"
#include "fixtures.h"

using namespace actormq;
using namespace std::chrono_literals;

namespace {

constexpr uint32_t partitions = 4;
constexpr size_t value_size = 16 << 10;

std::string value_of(int i) {
  std::string v = "v" + std::to_string(i) + ":";
  v.resize(value_size, static_cast<char>('a' + i % 26));
  return v;
}

}  // namespace

TEST_CASE("records given up while their broker is frozen are not freed under their writes",
          "[app][producer]") {
  test::broker_process b;
  test::require_started(b);
  test::create_topic(b, "frozen", partitions);
  client::producer_config pc;
  pc.connection = test::connection_to(b);
  pc.connection.request_timeout_ms = 500;
  pc.delivery_timeout_ms = 1500;
  pc.retry_backoff_ms = 50;
  pc.max_in_flight_per_partition = 5;
  pc.linger_ms = 20;
  pc.partitioner = client::partitioner_kind::murmur2_round_robin;
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  // Metadata and the session first: only the produces meet the frozen broker.
  REQUIRE((*prod)->send_sync(test::record("frozen", std::nullopt, "warm-up")).ok());

  b.pause();
  // 32 MiB: far more than the loopback socket buffers take, so most writes
  // wait in the connection's queue when the requests time out.
  constexpr int count = 2048;
  std::vector<std::future<client::delivery_report>> fs;
  fs.reserve(count);
  for (int i = 0; i < count; ++i) {
    fs.push_back((*prod)->send("frozen", "k" + std::to_string(i), value_of(i)));
  }
  int timed_out = 0;
  for (auto& f : fs) {
    // Also the records of batches still open when the broker froze: they
    // fail within delivery_timeout_ms too (record_accumulator::expire).
    REQUIRE(f.wait_for(30s) == std::future_status::ready);
    if (f.get().err.is(client::errc::delivery_timeout)) ++timed_out;
  }
  CHECK(timed_out == count);  // all given up: the broker never answered
  // Let the batches be settled and freed before anything is written again.
  std::this_thread::sleep_for(200ms);
  b.resume();

  // The queued writes go out now; the producer carries on.
  auto after = (*prod)->send_sync(test::record("frozen", std::string("after"), "thawed"));
  INFO(after.err.to_string());
  REQUIRE(after.ok());

  // What the broker stored of the given-up records (they were sent, so some
  // may be: a failed delivery is unknown, not absent) is their own bytes.
  client::consumer_config cc;
  cc.connection = test::connection_to(b);
  cc.fetch_max_wait_ms = 100;
  auto r = client::reader::create(cc);
  REQUIRE(r);
  REQUIRE((*r)->assign_topic("frozen", client::reader::earliest));
  std::map<std::string, int> seen;
  bool after_seen = false;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  int quiet_polls = 0;
  while (std::chrono::steady_clock::now() < deadline && quiet_polls < 10) {
    auto msgs = (*r)->poll(200ms);
    REQUIRE(msgs);
    if (msgs->empty()) {
      if (after_seen) ++quiet_polls;
      continue;
    }
    for (const auto& m : *msgs) {
      if (!m.key) continue;  // the warm-up
      if (*m.key == "after") {
        after_seen = true;
        continue;
      }
      REQUIRE(m.key->rfind('k', 0) == 0);
      int i = std::stoi(m.key->substr(1));
      REQUIRE(i >= 0);
      REQUIRE(i < count);
      CHECK(m.value == value_of(i));
      ++seen[*m.key];
    }
  }
  CHECK(after_seen);
  for (const auto& [key, n] : seen) {
    INFO(key);
    CHECK(n == 1);  // stored once: the broker's dedupe held across the resends
  }
}
