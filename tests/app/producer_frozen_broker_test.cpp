// Integration: a producer whose broker freezes (SIGSTOP) with megabytes of
// batches still being written. The requests time out and the records fail,
// but their writes may still be queued in the session: the batch buffers
// must outlive those writes (write_pins.h; freed, a thawed broker would be
// sent freed memory), and a request timeout closes the session so that
// nothing piles up behind a broker that answers nothing.
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
  // Room for all 32 MiB below: the second half is sent while the first
  // half's requests time out, not after they have expired.
  pc.buffer_memory = 64u << 20;
  auto conn = client::connection::connect(pc.connection);
  REQUIRE(conn);
  auto prod = std::make_unique<client::producer>(*conn, pc);
  REQUIRE(prod->init());
  // Metadata and the session first: only the produces meet the frozen broker.
  REQUIRE(prod->send_sync(test::record("frozen", std::nullopt, "warm-up")).ok());
  CHECK((*conn)->stats().sessions_opened == 1);

  b.pause();
  // 32 MiB: far more than the loopback socket buffers take, so most writes
  // wait in the connection's queue when the requests time out.
  constexpr int count = 2048;
  std::vector<std::future<client::delivery_report>> fs;
  fs.reserve(count);
  for (int i = 0; i < count / 2; ++i) {
    fs.push_back(prod->send("frozen", "k" + std::to_string(i), value_of(i)));
  }
  // Past the request timeout: the first requests time out, their sessions
  // close and the topic's metadata is due again. send() keeps using the
  // partition count it knows instead of waiting for a metadata refresh that
  // the frozen broker never answers (it waited a request timeout per send:
  // about 500 s for these 1,024).
  REQUIRE(test::eventually([&] { return (*conn)->stats().sessions_closed_stalled >= 1; }, 10s));
  auto second_half = std::chrono::steady_clock::now();
  for (int i = count / 2; i < count; ++i) {
    fs.push_back(prod->send("frozen", "k" + std::to_string(i), value_of(i)));
  }
  CHECK(std::chrono::steady_clock::now() - second_half < 20s);
  int timed_out = 0;
  for (auto& f : fs) {
    // Also the records of batches still open when the broker froze: they
    // fail within delivery_timeout_ms too (record_accumulator::expire).
    REQUIRE(f.wait_for(30s) == std::future_status::ready);
    if (f.get().err.is(client::errc::delivery_timeout)) ++timed_out;
  }
  CHECK(timed_out == count);  // all given up: the broker never answered
  // Each timed-out request closed its session (the retry opened a new one),
  // and with it what its unfinished writes held: nothing stays pinned.
  (void)test::eventually([&] { return (*conn)->stats().pinned_buffers == 0; }, 10s);
  auto frozen = (*conn)->stats();
  CHECK(frozen.sessions_closed_stalled >= 1);
  CHECK(frozen.sessions_opened > 1);
  CHECK(frozen.pinned_buffers == 0);
  CHECK(frozen.pinned_bytes == 0);
  // Every batch is settled (its future is ready), so freed had it not been
  // kept, before anything is written again.
  b.resume();

  // The queued writes go out now; the producer carries on.
  auto after = prod->send_sync(test::record("frozen", std::string("after"), "thawed"));
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

TEST_CASE("a producer whose delivery timeout is not above its linger is refused, naming both",
          "[app][producer]") {
  test::broker_process b;
  test::require_started(b);
  client::producer_config pc;
  pc.connection = test::connection_to(b);
  pc.linger_ms = 1000;
  pc.delivery_timeout_ms = 1000;  // a batch would expire before it is due
  auto prod = client::producer::create(pc);
  REQUIRE_FALSE(prod);
  CHECK(prod.err().is(client::errc::invalid_argument));
  CHECK_THAT(prod.err().to_string(),
             Catch::Contains("delivery_timeout_ms (1000)") && Catch::Contains("linger_ms (1000)"));
  pc.delivery_timeout_ms = 1001;
  CHECK(client::producer::create(pc));
}
