// Integration: message ids through the real broker: distinct per message,
// the same on every copy, kept when a producer retries a batch whose reply
// was lost, and kept when a message is produced again under its id.
#include <catch2/catch.hpp>

#include <set>

#include <nlohmann/json.hpp>

#include "actormq/client/reader.h"
#include "fixtures.h"

using namespace actormq;
using namespace std::chrono_literals;

namespace {

std::vector<client::message> read_all(const test::broker_process& b, const std::string& topic,
                                      size_t want) {
  client::consumer_config cfg;
  cfg.connection = test::connection_to(b);
  cfg.fetch_max_wait_ms = 200;
  auto r = client::reader::create(cfg);
  REQUIRE(r);
  REQUIRE((*r)->assign_topic(topic, client::reader::earliest));
  std::vector<client::message> out;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (out.size() < want && std::chrono::steady_clock::now() < deadline) {
    auto msgs = (*r)->poll(200ms);
    if (msgs) out.insert(out.end(), msgs->begin(), msgs->end());
  }
  // Nothing more behind them.
  auto more = (*r)->poll(500ms);
  if (more) out.insert(out.end(), more->begin(), more->end());
  return out;
}

}  // namespace

TEST_CASE("every message gets its own id, and the consumer reads the id the producer reported",
          "[app][id]") {
  test::broker_process b;
  test::require_started(b);
  test::create_topic(b, "ids", 3);
  client::producer_config pc;
  pc.connection = test::connection_to(b);
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  std::vector<std::future<client::delivery_report>> fs;
  for (int i = 0; i < 300; ++i) {
    fs.push_back((*prod)->send("ids", "k" + std::to_string(i % 7), "v" + std::to_string(i)));
  }
  REQUIRE((*prod)->flush(30s));
  std::set<client::message_id> reported;
  for (auto& f : fs) {
    auto rep = f.get();
    REQUIRE(rep.ok());
    REQUIRE_FALSE(rep.id.empty());
    reported.insert(rep.id);
  }
  CHECK(reported.size() == 300);
  auto got = read_all(b, "ids", 300);
  REQUIRE(got.size() == 300);
  std::set<client::message_id> ids;
  for (const auto& m : got) {
    CHECK(m.headers.empty());  // the id is not shown as a header
    ids.insert(m.id);
  }
  CHECK(ids == reported);
}

TEST_CASE("a batch resent after its reply was lost keeps its message ids and is stored once",
          "[app][id]") {
  test::broker_process b;
  test::require_started(b);
  test::create_topic(b, "resent", 1);
  client::producer_config pc;
  pc.connection = test::connection_to(b);
  pc.connection.request_timeout_ms = 1000;  // the frozen broker's reply is given up on
  pc.retry_backoff_ms = 100;
  pc.delivery_timeout_ms = 60000;
  pc.acks = client::acks::fsync;
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  // Metadata and the session first: only the produce meets the frozen broker.
  REQUIRE((*prod)->send_sync(test::record("resent", std::nullopt, "warm-up")).ok());
  b.pause();
  auto fut = (*prod)->send("resent", std::nullopt, std::string("once"));
  std::this_thread::sleep_for(2500ms);  // the first attempt times out and is resent
  b.resume();
  REQUIRE(fut.wait_for(30s) == std::future_status::ready);
  auto rep = fut.get();
  INFO(rep.err.to_string());
  REQUIRE(rep.ok());
  auto got = read_all(b, "resent", 2);
  REQUIRE(got.size() == 2);  // the broker's dedupe dropped the resend
  CHECK(got[1].id == rep.id);
  CHECK(got[1].value == "once");
  // A resend did reach the partition and was answered as a duplicate: the
  // case this test is about happened.
  auto adm = client::admin::create(test::connection_to(b));
  REQUIRE(adm);
  auto doc = nlohmann::json::parse(*(*adm)->inspect(false));
  int64_t duplicates = -1;
  for (const auto& a : doc["brokers"][0]["actors"]) {
    if (a["path"] == "partition/resent/0") duplicates = a["state"]["duplicate_batches"];
  }
  CHECK(duplicates >= 1);
}

TEST_CASE("a message produced again under its id keeps it, from rec.id or a copied header",
          "[app][id]") {
  test::broker_process b;
  test::require_started(b);
  test::create_topic(b, "first", 1);
  test::create_topic(b, "copy", 1);
  client::producer_config pc;
  pc.connection = test::connection_to(b);
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  auto original = (*prod)->send_sync(test::record("first", std::nullopt, "m"));
  REQUIRE(original.ok());
  auto read = read_all(b, "first", 1);
  REQUIRE(read.size() == 1);
  // A tool that moves a message sets its id ...
  auto moved = test::record("copy", read[0].key, read[0].value.value_or(""), read[0].headers);
  moved.id = read[0].id;
  REQUIRE((*prod)->send_sync(moved).id == original.id);
  // ... or copies an amq-id header it carries.
  auto raw = test::record("copy", std::nullopt, "m");
  raw.headers.push_back({"amq-id", std::string(original.id.bytes())});
  REQUIRE((*prod)->send_sync(raw).id == original.id);
  auto copies = read_all(b, "copy", 2);
  REQUIRE(copies.size() == 2);
  CHECK(copies[0].id == original.id);
  CHECK(copies[1].id == original.id);
  CHECK(copies[1].headers.empty());  // written once, as the id
}
