// Delayed messages end to end against the real broker: visibility at the due
// time, delay levels, and durability of pending messages across restarts.

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "actors/delay/schedule_envelope.h"
#include "app/fixtures.h"
#include "app/raw_client.h"
#include "storage/log.h"
#include "storage/record_batch_builder.h"
#include "storage/schedule_store.h"

using namespace actormq;
using namespace std::chrono_literals;

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string one_record_batch(const std::string& key, const std::string& value) {
  storage::record_batch_builder b;
  b.add(std::string_view(key), std::string_view(value), storage::timestamp_ms(wall_ms()));
  return b.build();
}

struct delayed_reply {
  rpc::ErrorCode code;
  std::string message;
  bool scheduled;
  int64_t deliver_at;
};

delayed_reply produce_delayed(test::raw_client& c, const std::string& topic, uint32_t partition,
                              const std::string& batch, int64_t deliver_at, uint8_t level = 0,
                              rpc::Acks acks = rpc::Acks::FSYNC,
                              const std::vector<int64_t>& dues = {}) {
  auto req = c.broker().produceRequest();
  req.setTopic(topic);
  req.setPartition(partition);
  req.setAcks(acks);
  req.setBatch(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(batch.data()), batch.size()));
  req.setDeliverAtMs(deliver_at);
  req.setDelayLevel(level);
  if (!dues.empty()) {
    auto l = req.initDeliverAtList(static_cast<unsigned>(dues.size()));
    for (unsigned i = 0; i < dues.size(); ++i) l.set(i, dues[i]);
  }
  auto resp = req.send().wait(c.ws());
  return {resp.getError().getCode(), resp.getError().getMessage().cStr(), resp.getScheduled(),
          resp.getDeliverAtMs()};
}

int64_t high_watermark(const test::broker_process& b, const std::string& topic, uint32_t p = 0) {
  auto adm = client::admin::create(test::connection_to(b));
  REQUIRE(adm);
  auto t = (*adm)->describe_topic(topic);
  REQUIRE(t);
  return t->partitions.at(p).high_watermark;
}

/// Every value in the topic (all partitions) with how often it appears.
std::map<std::string, int> read_all(const test::broker_process& b, const std::string& topic,
                                    size_t expect) {
  client::consumer_config cc;
  cc.connection = test::connection_to(b);
  cc.group_id = "reader-" + std::to_string(wall_ms());
  cc.auto_offset_reset = client::offset_reset::earliest;
  auto c = client::consumer::create(cc);
  REQUIRE(c);
  REQUIRE((*c)->subscribe({topic}));
  std::map<std::string, int> seen;
  for (auto& m : test::consume_n(**c, expect, 20s)) seen[m.value.value_or("")]++;
  // Drain anything beyond the expectation (duplicates) for a moment.
  for (int i = 0; i < 3; ++i) {
    auto more = (*c)->poll(200ms);
    if (more) {
      for (auto& m : *more) seen[m.value.value_or("")]++;
    }
  }
  return seen;
}

}  // namespace

TEST_CASE("a message delayed 2 s is not consumable at 1.5 s and is at 2.5 s") {
  test::broker_process b;
  test::require_started(b);
  test::create_topic(b, "later", 1);
  test::raw_client c(b.address());
  auto start = wall_ms();
  auto r = produce_delayed(c, "later", 0, one_record_batch("k", "hello later"), start + 2000);
  INFO(r.message);
  REQUIRE(r.code == rpc::ErrorCode::NONE);
  CHECK(r.scheduled);
  CHECK(r.deliver_at == start + 2000);

  std::this_thread::sleep_until(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(start + 1500)));
  CHECK(high_watermark(b, "later") == 0);
  std::this_thread::sleep_until(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(start + 2500)));
  CHECK(high_watermark(b, "later") == 1);
  auto seen = read_all(b, "later", 1);
  CHECK(seen == std::map<std::string, int>{{"hello later", 1}});
}

TEST_CASE("records of one batch with due times of their own each arrive at their time, in order") {
  test::broker_process b;
  test::require_started(b);
  test::create_topic(b, "own-times", 1);
  test::raw_client c(b.address());
  storage::record_batch_builder bb;
  for (auto v : {"a", "b", "c", "d", "e", "f"}) {
    bb.add(std::string_view("k"), std::string_view(v), storage::timestamp_ms(wall_ms()));
  }
  const auto start = wall_ms();
  const int64_t soon = start + 1500, later = start + 3000;
  //                      a     b     c      d (past)     e     f
  std::vector<int64_t> dues{soon, soon, later, start - 60000, soon, later};
  auto r = produce_delayed(c, "own-times", 0, bb.build(), 0, 0, rpc::Acks::FSYNC, dues);
  INFO(r.message);
  REQUIRE(r.code == rpc::ErrorCode::NONE);
  CHECK(r.scheduled);
  CHECK(r.deliver_at >= start);  // the earliest: d, due at once
  CHECK(r.deliver_at < soon);

  auto values = [&](size_t n) {
    std::vector<std::string> out;
    client::consumer_config cc;
    cc.connection = test::connection_to(b);
    cc.group_id = "own-times-" + std::to_string(wall_ms());
    cc.auto_offset_reset = client::offset_reset::earliest;
    auto cons = client::consumer::create(cc);
    REQUIRE(cons);
    REQUIRE((*cons)->subscribe({"own-times"}));
    for (auto& m : test::consume_n(**cons, n, 20s)) out.push_back(m.value.value_or(""));
    return out;
  };
  std::this_thread::sleep_until(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(start + 1000)));
  CHECK(high_watermark(b, "own-times") == 1);  // d alone
  std::this_thread::sleep_until(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(start + 2300)));
  CHECK(high_watermark(b, "own-times") == 4);  // and a, b, e, not c and f
  std::this_thread::sleep_until(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(start + 3800)));
  CHECK(high_watermark(b, "own-times") == 6);
  CHECK(values(6) == std::vector<std::string>{"d", "a", "b", "e", "c", "f"});
}

TEST_CASE("a due-time list that does not match the batch, or comes with a level, is refused") {
  test::broker_process b;
  test::require_started(b);
  test::create_topic(b, "own-bad", 1);
  test::raw_client c(b.address());
  storage::record_batch_builder bb;
  bb.add(std::string_view("k"), std::string_view("x"), storage::timestamp_ms(wall_ms()));
  bb.add(std::string_view("k"), std::string_view("y"), storage::timestamp_ms(wall_ms()));
  const auto batch = bb.build();
  const auto at = wall_ms() + 60000;
  auto short_list = produce_delayed(c, "own-bad", 0, batch, 0, 0, rpc::Acks::LEADER, {at});
  CHECK(short_list.code == rpc::ErrorCode::INVALID_REQUEST);
  CHECK_THAT(short_list.message, Catch::Contains("1 due times for a batch of 2 records"));
  auto with_level = produce_delayed(c, "own-bad", 0, batch, 0, 3, rpc::Acks::LEADER, {at, at});
  CHECK(with_level.code == rpc::ErrorCode::INVALID_REQUEST);
  CHECK_THAT(with_level.message, Catch::Contains("not with them"));
  auto too_far = produce_delayed(c, "own-bad", 0, batch, 0, 0, rpc::Acks::LEADER,
                                 {at, wall_ms() + 400LL * 24 * 3600 * 1000});
  CHECK(too_far.code == rpc::ErrorCode::INVALID_REQUEST);
  CHECK_THAT(too_far.message, Catch::Contains("ms ahead"));
  // The broker serves on: a good list is scheduled.
  auto ok = produce_delayed(c, "own-bad", 0, batch, 0, 0, rpc::Acks::LEADER, {at, at + 1});
  CHECK(ok.code == rpc::ErrorCode::NONE);
  CHECK(ok.deliver_at == at);
}

TEST_CASE("a delay level maps to its duration and an unknown level is refused") {
  test::broker_process b;
  test::require_started(b);
  test::create_topic(b, "levels", 1);
  test::raw_client c(b.address());
  auto before = wall_ms();
  auto r = produce_delayed(c, "levels", 0, one_record_batch("k", "v"), 0, /*level=*/3);  // 10s
  REQUIRE(r.code == rpc::ErrorCode::NONE);
  CHECK(r.scheduled);
  CHECK(r.deliver_at >= before + 10000);
  CHECK(r.deliver_at <= wall_ms() + 10000);
  auto bad = produce_delayed(c, "levels", 0, one_record_batch("k", "v"), 0, /*level=*/19);
  CHECK(bad.code == rpc::ErrorCode::INVALID_REQUEST);
  CHECK_THAT(bad.message, Catch::Contains("delay level 19"));
}

TEST_CASE("a delayed message for an unknown topic or partition is refused at once") {
  test::broker_process b;
  test::require_started(b);
  test::create_topic(b, "known", 2);
  test::raw_client c(b.address());
  auto r = produce_delayed(c, "nope", 0, one_record_batch("k", "v"), wall_ms() + 5000);
  CHECK(r.code == rpc::ErrorCode::UNKNOWN_TOPIC);
  auto p = produce_delayed(c, "known", 7, one_record_batch("k", "v"), wall_ms() + 5000);
  CHECK(p.code == rpc::ErrorCode::UNKNOWN_PARTITION);
}

TEST_CASE("same-key messages with the same due time keep their order") {
  test::broker_process b;
  test::require_started(b);
  test::create_topic(b, "ordered", 1);
  test::raw_client c(b.address());
  auto due = wall_ms() + 800;
  for (int i = 0; i < 50; ++i) {
    auto r = produce_delayed(c, "ordered", 0, one_record_batch("same", std::to_string(i)), due, 0,
                             rpc::Acks::LEADER);
    REQUIRE(r.code == rpc::ErrorCode::NONE);
  }
  client::consumer_config cc;
  cc.connection = test::connection_to(b);
  cc.group_id = "order-check";
  cc.auto_offset_reset = client::offset_reset::earliest;
  auto cons = client::consumer::create(cc);
  REQUIRE(cons);
  REQUIRE((*cons)->subscribe({"ordered"}));
  auto got = test::consume_n(**cons, 50, 20s);
  REQUIRE(got.size() == 50);
  for (int i = 0; i < 50; ++i) CHECK(got[static_cast<size_t>(i)].value == std::to_string(i));
}

TEST_CASE("pending delayed messages survive a restart and are delivered once on time") {
  test::broker_process b;
  test::require_started(b);
  test::create_topic(b, "durable", 1);
  auto base = wall_ms();
  {
    test::raw_client c(b.address());
    for (int i = 0; i < 3; ++i) {
      auto r = produce_delayed(c, "durable", 0, one_record_batch("k", "m" + std::to_string(i)),
                               base + 2500 + 500 * i);
      REQUIRE(r.code == rpc::ErrorCode::NONE);
    }
  }
  REQUIRE(b.restart());
  CHECK(high_watermark(b, "durable") == 0);  // none due yet
  REQUIRE(test::eventually([&] { return high_watermark(b, "durable") == 3; }, 15s));
  CHECK(wall_ms() >= base + 3500);  // the last was due at +3.5 s
  auto seen = read_all(b, "durable", 3);
  CHECK(seen == std::map<std::string, int>{{"m0", 1}, {"m1", 1}, {"m2", 1}});
}

TEST_CASE("a broker killed while delivering loses no delayed message") {
  test::broker_process b;
  test::require_started(b);
  test::create_topic(b, "storm", 4);
  constexpr int n = 400;
  auto base = wall_ms() + 1000;
  {
    test::raw_client c(b.address());
    for (int i = 0; i < n; ++i) {
      // Due times spread over one second so the kill lands mid-delivery.
      auto r =
          produce_delayed(c, "storm", static_cast<uint32_t>(i % 4),
                          one_record_batch("k" + std::to_string(i % 7), "d" + std::to_string(i)),
                          base + (i * 1000) / n);
      REQUIRE(r.code == rpc::ErrorCode::NONE);
    }
  }
  std::this_thread::sleep_until(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(base + 500)));
  REQUIRE(b.restart(/*kill=*/true));
  auto seen = read_all(b, "storm", n);
  int missing = 0, duplicates = 0;
  for (int i = 0; i < n; ++i) {
    auto it = seen.find("d" + std::to_string(i));
    if (it == seen.end()) {
      ++missing;
    } else {
      duplicates += it->second - 1;
    }
  }
  CHECK(missing == 0);
  // Exactly once: a dispatch repeated after the kill carries the same
  // producer id and sequence numbers, and the target drops what it has.
  CHECK(duplicates == 0);
}

namespace {
/// Segment files of the fullest partition of __delay_schedule, and of all.
std::pair<size_t, size_t> schedule_segments(const std::filesystem::path& data) {
  size_t most = 0, all = 0;
  std::error_code ec;
  for (const auto& p :
       std::filesystem::directory_iterator(data / "topics" / "__delay_schedule", ec)) {
    if (!p.is_directory()) continue;
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(p.path()))
      n += e.path().extension() == ".log";
    most = std::max(most, n);
    all += n;
  }
  return {most, all};
}
}  // namespace

TEST_CASE("__delay_schedule segments are deleted once their messages were delivered") {
  test::temp_dir dir{"delay-gc"};
  auto cfg = dir.path() / "broker.toml";
  // Delivered envelopes are not kept for traces here: they go at once.
  std::ofstream(cfg) << "[delay]\nsegment_bytes = 16384\nbucket_ms = 500\nkeep_delivered_ms = 0\n";
  auto data = dir.path() / "data";
  test::broker_process b(data, {"--config", cfg.string()});
  test::require_started(b);
  test::create_topic(b, "gc", 1);
  const std::string pad(1000, 'x');
  auto base = wall_ms();
  {
    test::raw_client c(b.address());
    // ~200 KB of envelopes: a dozen 16 KiB segments, all due within 2 s,
    // plus one message due much later that must survive the collection.
    for (int i = 0; i < 200; ++i) {
      auto r = produce_delayed(c, "gc", 0, one_record_batch("k", "m" + std::to_string(i) + pad),
                               base + 1000 + 5 * i, 0, rpc::Acks::LEADER);
      REQUIRE(r.code == rpc::ErrorCode::NONE);
    }
  }
  CHECK(schedule_segments(data).second >= 10);
  REQUIRE(test::eventually([&] { return high_watermark(b, "gc") == 200; }, 20s));
  // All delivered: the segments go (the active one stays), within a few GC rounds.
  REQUIRE(test::eventually([&] { return schedule_segments(data).first <= 1; }, 30s));

  // Still works after the collection and a restart: new envelopes land above
  // the persisted log start, and a pending one written before the restart
  // keeps its segment.
  {
    test::raw_client c(b.address());
    auto r = produce_delayed(c, "gc", 0, one_record_batch("k", "late"), wall_ms() + 2500);
    REQUIRE(r.code == rpc::ErrorCode::NONE);
  }
  REQUIRE(b.restart());
  REQUIRE(test::eventually([&] { return high_watermark(b, "gc") == 201; }, 20s));
  auto seen = read_all(b, "gc", 201);
  CHECK(seen.size() == 201);
  CHECK(seen.count("late") == 1);
}

TEST_CASE("a previous release's pending delayed messages move to __delay_schedule and arrive once",
          "[app][delay][upgrade]") {
  test::temp_dir dir{"delay-upgrade"};
  auto cfg = dir.path() / "broker.toml";
  std::ofstream(cfg) << "[delay]\nbucket_ms = 1000\n";
  auto data = dir.path() / "data";
  {
    test::broker_process b(data, {"--config", cfg.string()});
    test::require_started(b);
    test::create_topic(b, "later", 2);
    REQUIRE(b.stop() == 0);
  }
  // The previous release's files, written by its own storage classes: 600
  // envelopes in <data>/delay/log and their entries in <data>/delay/schedule.
  // m0..m99 were due 5 s ago (m0..m49 delivered before the upgrade);
  // m100..m599 are due 8 to 10 s from now, across three 1 s buckets, 20 of
  // them with one due time; more than one 256-entry chunk. base is a
  // whole second: the overdue hundred share one 1 s bucket, as
  // mark_delivered (which records "delivered through" in the bucket of its
  // argument) needs; the previous release removed whole buckets below it.
  const auto base = (wall_ms() / 1000 + 1) * 1000;
  auto due_of = [&](int i) -> int64_t {
    if (i < 100) return base - 5000 + i;
    if (i < 120) return base + 8500;
    return base + 8000 + (i - 120) * 4;
  };
  {
    storage::log_config lc;
    lc.segment_bytes = 16384;
    auto log = storage::log::open(data / "delay" / "log", lc);
    REQUIRE(log);
    storage::schedule_store_config sc;
    sc.bucket_width = 1000ms;
    auto store = storage::schedule_store::open(data / "delay" / "schedule", sc);
    REQUIRE(store);
    for (int i = 0; i < 600; ++i) {
      delay::schedule_envelope env{"later", static_cast<uint32_t>(i % 2), due_of(i),
                                   one_record_batch("k", "m" + std::to_string(i))};
      auto bytes = env.encode(base - 10000);
      auto r = (*log)->append({reinterpret_cast<uint8_t*>(bytes.data()), bytes.size()});
      REQUIRE(r);
      REQUIRE((*store)->add(
          {storage::timestamp_ms(due_of(i)), 0, static_cast<uint64_t>(r->base_offset())}));
    }
    REQUIRE((*store)->mark_delivered(storage::timestamp_ms(due_of(49))));
    REQUIRE((*store)->flush());
    REQUIRE((*log)->close());
  }

  test::broker_process b(data, {"--config", cfg.string()});
  test::require_started(b);
  auto visible = [&] { return high_watermark(b, "later", 0) + high_watermark(b, "later", 1); };
  // The 50 overdue ones come at once; the others not before their time.
  REQUIRE(test::eventually([&] { return visible() >= 50; }, 20s));
  auto seen_early = visible();
  if (wall_ms() < base + 8000) {  // read before the first due time
    CHECK(seen_early == 50);
  } else {
    WARN("the broker took past the first due time to start; early delivery not checked");
  }
  REQUIRE(test::eventually([&] { return visible() == 550; }, 30s));
  CHECK(wall_ms() >= due_of(599));
  // Moved: the old files are gone.
  CHECK(test::eventually([&] { return !std::filesystem::exists(data / "delay"); }, 10s));
  auto seen = read_all(b, "later", 550);
  int missing = 0, extra = 0;
  for (int i = 50; i < 600; ++i) {
    auto it = seen.find("m" + std::to_string(i));
    if (it == seen.end())
      ++missing;
    else
      extra += it->second - 1;
  }
  CHECK(missing == 0);
  CHECK(extra == 0);
  CHECK(seen.size() == 550);  // none of m0..m49

  // A restart delivers nothing again.
  REQUIRE(b.restart());
  std::this_thread::sleep_for(2s);
  CHECK(visible() == 550);
}
