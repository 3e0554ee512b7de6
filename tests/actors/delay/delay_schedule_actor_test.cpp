// DELAY SCHEDULE actor alone (one broker, __delay_schedule not replicated):
// delayed messages arrive at their time and once; a restarted actor delivers
// what was pending and nothing twice; a dispatch recorded by a previous
// owner that died before its target answered is produced again and the
// target keeps one copy.

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "actors/delay/delay_schedule_actor.h"
#include "actors/delay/delay_schedule_record.h"
#include "actors/delay/schedule_partition.h"
#include "actors/group/group_actor.h"
#include "support/actor_fixture.h"
#include "support/eventually.h"
#include "support/temp_dir.h"

using namespace actormq;
using namespace actormq::test;
using namespace std::chrono_literals;

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

delay_schedule_settings schedule_settings(broker_env& env, const fs::path& dir) {
  delay_schedule_settings s;
  s.dir = dir / "delay-schedule";
  s.registry = env.registry;
  s.writer.registry = env.registry;
  s.partitions = 2;
  return s;
}

delay_schedule_actor spawn_schedule(broker_env& env, const fs::path& dir) {
  return spawn_delay_schedule_actor(env.sys(), schedule_settings(env, dir));
}

void stop(broker_env& env, const delay_schedule_actor& a) {
  caf::scoped_actor self{env.sys()};
  self->send(a, close_atom::value);
  self->wait_for(a);
}

schedule_reply schedule(caf::scoped_actor& self, const delay_schedule_actor& a,
                        const std::string& value, int64_t at) {
  delayed_produce req{"orders", 0, at, make_batch({value}), acks_level::leader};
  auto r = ask<schedule_reply>(self, a, produce_atom::value, req);
  INFO((r ? std::string() : text_of(r.error())));
  REQUIRE(r);
  return *r;
}

std::vector<std::string> delivered(caf::scoped_actor& self, const topic_handle& h) {
  return values_of(read_partition(self, h.partitions[0]));
}

}  // namespace

TEST_CASE("a message scheduled on __delay_schedule arrives at its time and once",
          "[actors][delay][schedule]") {
  temp_dir dir;
  broker_env env(dir.path());
  auto orders = env.create_topic("orders", 1);
  auto a = spawn_schedule(env, dir.path());
  caf::scoped_actor self{env.sys()};
  const int64_t at = wall_ms() + 400;
  auto r = schedule(self, a, "hello", at);
  CHECK(r.deliver_at_ms == at);
  std::this_thread::sleep_for(200ms);
  CHECK(delivered(self, orders).empty());  // not before its time
  REQUIRE(eventually([&] { return delivered(self, orders).size() == 1; }, 5s));
  CHECK(wall_ms() >= at);
  std::this_thread::sleep_for(300ms);
  CHECK(delivered(self, orders) == std::vector<std::string>{"hello"});

  SECTION("refused: an unknown topic or partition, a time too far ahead") {
    delayed_produce bad{"nope", 0, at, make_batch({"x"}), acks_level::leader};
    CHECK(code_of(ask<schedule_reply>(self, a, produce_atom::value, bad)) == errc::unknown_topic);
    bad.topic = "orders";
    bad.partition = 3;
    CHECK(code_of(ask<schedule_reply>(self, a, produce_atom::value, bad)) ==
          errc::unknown_partition);
    bad.partition = 0;
    bad.deliver_at_ms = wall_ms() + std::chrono::milliseconds(delay::max_delay).count() + 60'000;
    CHECK(code_of(ask<schedule_reply>(self, a, produce_atom::value, bad)) == errc::invalid_request);
    bad.deliver_at_ms = at;
    bad.batch = nullptr;
    CHECK(code_of(ask<schedule_reply>(self, a, produce_atom::value, bad)) == errc::invalid_request);
    // Nothing of it was scheduled: only "hello" ever arrives.
    std::this_thread::sleep_for(300ms);
    CHECK(delivered(self, orders) == std::vector<std::string>{"hello"});
  }
  stop(env, a);
}

TEST_CASE(
    "messages scheduled out of due order arrive in due order, none before its time, each once",
    "[actors][delay][schedule]") {
  temp_dir dir;
  broker_env env(dir.path());
  auto orders = env.create_topic("orders", 1);
  auto a = spawn_schedule(env, dir.path());
  caf::scoped_actor self{env.sys()};
  // Appended in one order, due in another (a permutation, 4 ms apart): the
  // scheduler reads them ahead in log order and must still deliver in due
  // order, planning ahead but producing nothing before its time.
  constexpr int n = 300;
  const int64_t base = wall_ms() + 3000;
  std::map<std::string, int64_t> due;
  for (int i = 0; i < n; ++i) {
    auto v = "m" + std::to_string(i);
    due[v] = base + (i * 37 % n) * 4;
    schedule(self, a, v, due[v]);
  }
  REQUIRE(wall_ms() < base);  // else the first due times passed while scheduling
  size_t early = 0;
  std::vector<std::string> got;
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (got.size() < n && std::chrono::steady_clock::now() < deadline) {
    got = delivered(self, orders);
    const int64_t seen = wall_ms();
    for (const auto& v : got) {
      if (due.at(v) > seen) ++early;
    }
    std::this_thread::sleep_for(2ms);
  }
  CHECK(early == 0);
  std::vector<std::string> want;
  for (const auto& [v, at] : due) want.push_back(v);
  std::sort(want.begin(), want.end(),
            [&](const auto& x, const auto& y) { return due[x] < due[y]; });
  CHECK(got == want);
  std::this_thread::sleep_for(300ms);
  CHECK(delivered(self, orders).size() == n);
  stop(env, a);
}

TEST_CASE("a restarted delay schedule delivers what was pending and nothing twice",
          "[actors][delay][schedule]") {
  temp_dir dir;
  broker_env env(dir.path());
  auto orders = env.create_topic("orders", 1);
  caf::scoped_actor self{env.sys()};
  auto a = spawn_schedule(env, dir.path());
  schedule(self, a, "soon", wall_ms() + 100);
  schedule(self, a, "later", wall_ms() + 1500);
  REQUIRE(eventually([&] { return delivered(self, orders).size() == 1; }, 5s));
  stop(env, a);

  auto b = spawn_schedule(env, dir.path());
  REQUIRE(eventually([&] { return delivered(self, orders).size() == 2; }, 5s));
  std::this_thread::sleep_for(500ms);
  CHECK(delivered(self, orders) == std::vector<std::string>{"soon", "later"});
  stop(env, b);
}

TEST_CASE(
    "a dispatch recorded by an owner that died before its target answered is produced "
    "again and the target keeps one copy",
    "[actors][delay][schedule]") {
  temp_dir dir;
  broker_env env(dir.path());
  auto orders = env.create_topic("orders", 1);
  caf::scoped_actor self{env.sys()};
  // What the previous owner left: an envelope due now, its dispatch record,
  // and the batch that reached the target (its acknowledgement was lost).
  auto cfg = offsets_topic_config(2, 1);
  auto sched = ask<topic_handle>(self, env.registry, create_atom::value,
                                 std::string(delay::schedule_topic), cfg, internal_atom::value);
  REQUIRE(sched);
  const uint32_t sp = delay::schedule_partition_of("orders", 0, 2);
  const int64_t pid = (int64_t{1} << 62) + sp;
  delay::envelope_record env_rec{wall_ms() - 1000, "orders", 0, *make_batch({"once"})};
  storage::record_batch_builder eb;
  delay::add_schedule_record(eb, delay::schedule_kind::envelope, env_rec, wall_ms());
  auto put = ask<produce_reply>(
      self, sched->partitions[sp], produce_atom::value,
      produce_request{std::make_shared<std::string>(eb.build()), acks_level::leader});
  REQUIRE(put);
  delay::dispatch_record d;
  d.number = 1;
  d.targets.push_back({"orders", 0, 0, 1, {{put->base_offset, env_rec.due_ms}}});
  storage::record_batch_builder db;
  delay::add_schedule_record(db, delay::schedule_kind::dispatch, d, wall_ms());
  REQUIRE(ask<produce_reply>(
      self, sched->partitions[sp], produce_atom::value,
      produce_request{std::make_shared<std::string>(db.build()), acks_level::leader}));
  auto batch = delay::schedule_partition::build_batch(d.targets[0], {&env_rec}, pid);
  REQUIRE(batch);
  REQUIRE(ask<produce_reply>(
      self, orders.partitions[0], produce_atom::value,
      produce_request{std::make_shared<std::string>(*batch), acks_level::leader}));

  auto a = spawn_schedule(env, dir.path());
  REQUIRE(eventually(
      [&] {
        auto st = ask<delay_stats>(self, a, describe_atom::value);
        return st && st->delivered == 1;  // the repeat was answered (as a duplicate)
      },
      5s));
  CHECK(delivered(self, orders) == std::vector<std::string>{"once"});
  // The next dispatch continues the sequences: accepted, not out of order.
  schedule(self, a, "next", wall_ms());
  REQUIRE(eventually([&] { return delivered(self, orders).size() == 2; }, 5s));
  CHECK(delivered(self, orders) == std::vector<std::string>{"once", "next"});
  stop(env, a);
}

TEST_CASE(
    "delayed produces that come together share an append, each answered with its own offset "
    "and delivered once",
    "[actors][delay][schedule]") {
  temp_dir dir;
  broker_env env(dir.path());
  auto orders = env.create_topic("orders", 1);
  auto a = spawn_schedule(env, dir.path());
  caf::scoped_actor self{env.sys()};
  schedule(self, a, "first", wall_ms() + 2000);  // __delay_schedule is open
  // n produces sent at once: while the first append is out, the rest wait
  // and go together.
  constexpr int n = 200;
  const int64_t at = wall_ms() + 2000;
  for (int i = 0; i < n; ++i) {
    self->send(a, produce_atom::value,
               delayed_produce{"orders", 0, at, make_batch({"m" + std::to_string(i)}),
                               acks_level::leader});
  }
  std::set<int64_t> offsets;
  int received = 0;
  self->receive_for(received, n)(
      [&](schedule_reply& r) { offsets.insert(r.schedule_offset); },
      [&](caf::error& e) { FAIL_CHECK(text_of(e)); },
      caf::after(request_timeout) >>
          [&] {
            FAIL_CHECK("no answer within " << request_timeout.count() << " s");
            received = n;
          });
  REQUIRE(offsets.size() == n);  // each its own offset

  // The envelope batches of its schedule partition: far fewer than n.
  auto sched =
      ask<topic_handle>(self, env.registry, lookup_atom::value, std::string(delay::schedule_topic));
  REQUIRE(sched);
  const uint32_t sp = delay::schedule_partition_of("orders", 0, 2);
  auto recs = read_partition(self, sched->partitions[sp]);
  std::map<int64_t, std::string> envelope_at;
  for (const auto& r : recs) {
    auto rec = delay::decode_schedule_record(r.key.value_or(""), r.value);
    if (rec && rec->kind == delay::schedule_kind::envelope) envelope_at[r.offset] = r.value;
  }
  for (int64_t o : offsets) CHECK(envelope_at.count(o) == 1);  // the answer names its envelope
  auto offs = ask<partition_offsets>(self, sched->partitions[sp], offsets_atom::value);
  REQUIRE(offs);
  size_t batches = 0;
  for (int64_t at_offset = 0; at_offset < offs->high_watermark;) {
    auto r = ask<fetch_reply>(self, sched->partitions[sp], fetch_atom::value,
                              fetch_request{at_offset, 1});  // one batch per fetch
    REQUIRE(r);
    REQUIRE(r->slice.length > 0);
    ++batches;
    at_offset = r->slice.next_offset();
  }
  CHECK(batches <= n / 4);

  REQUIRE(eventually([&] { return delivered(self, orders).size() == n + 1; }, 10s));
  CHECK(wall_ms() >= at);
  std::this_thread::sleep_for(300ms);
  auto got = delivered(self, orders);
  CHECK(got.size() == n + 1);
  CHECK(std::set<std::string>(got.begin(), got.end()).size() == n + 1);  // each once
  stop(env, a);
}

namespace {

/// One message "m" delivered by a schedule actor that collects every
/// 100 ms over 100 ms buckets (its envelope is no longer needed about
/// 100 ms after its delivery; the timer wakes every 50 ms even idle),
/// keeping delivered records keep, or none past keep_bytes. delivered_at
/// stays 0 if it was not delivered.
struct collected_delivery {
  temp_dir dir;
  broker_env env{dir.path()};
  topic_handle orders = env.create_topic("orders", 1);
  delay_schedule_actor a;
  caf::scoped_actor self{env.sys()};
  const uint32_t sp = delay::schedule_partition_of("orders", 0, 2);
  schedule_reply envelope;
  int64_t delivered_at = 0;

  delay_schedule_settings settings = schedule_settings(env, dir.path());

  collected_delivery(std::chrono::milliseconds keep, uint64_t keep_bytes) {
    settings.bucket_width = 100ms;
    settings.gc_interval = 100ms;
    settings.idle_tick = 50ms;
    settings.keep_delivered = keep;
    settings.keep_delivered_bytes = keep_bytes;
    a = spawn_delay_schedule_actor(env.sys(), settings);
    // No REQUIRE here: a constructor that throws would leave the actor
    // running. The cases require delivered_at.
    auto r = ask<schedule_reply>(
        self, a, produce_atom::value,
        delayed_produce{"orders", 0, wall_ms() + 200, make_batch({"m"}), acks_level::leader});
    if (!r) return;
    envelope = *r;
    if (eventually([&] { return delivered(self, orders).size() == 1; }, 5s)) {
      delivered_at = wall_ms();
    }
  }
  ~collected_delivery() { stop(env, a); }

  /// Stops the actor and starts another on the same files.
  void restart() {
    stop(env, a);
    a = spawn_delay_schedule_actor(env.sys(), settings);
  }

  partition_offsets offsets() {
    auto sched = ask<topic_handle>(self, env.registry, lookup_atom::value,
                                   std::string(delay::schedule_topic));
    REQUIRE(sched);
    auto o = ask<partition_offsets>(self, sched->partitions[sp], offsets_atom::value);
    REQUIRE(o);
    return *o;
  }
  bool collected() { return offsets().log_start_offset > envelope.schedule_offset; }
};

}  // namespace

TEST_CASE("a delivered envelope stays in __delay_schedule for keep_delivered, then is collected",
          "[actors][delay][schedule][collect]") {
  collected_delivery c(1500ms, 1 << 30);
  REQUIRE(c.delivered_at > 0);
  // A dozen collections while it is kept: the envelope stays readable.
  while (wall_ms() < c.delivered_at + 1200) {
    CHECK_FALSE(c.collected());
    std::this_thread::sleep_for(100ms);
  }
  // Then it goes, not before keep_delivered after its delivery.
  REQUIRE(eventually([&] { return c.collected(); }, 5s));
  CHECK(wall_ms() - c.delivered_at >= 1400);
}

TEST_CASE("a schedule partition past keep_delivered_bytes keeps nothing delivered",
          "[actors][delay][schedule][collect]") {
  collected_delivery c(1h, 1);  // an hour's keep, but any partition is over 1 byte
  REQUIRE(c.delivered_at > 0);
  REQUIRE(eventually([&] { return c.collected(); }, 5s));
  CHECK(delivered(c.self, c.orders) == std::vector<std::string>{"m"});
}

TEST_CASE("an idle schedule partition writes nothing once its delivered records are collected",
          "[actors][delay][schedule][collect]") {
  const auto keep = GENERATE(0ms, 300ms);
  INFO("keep_delivered " << keep.count() << " ms");
  collected_delivery c(keep, 1 << 30);
  REQUIRE(c.delivered_at > 0);
  // More deliveries a collection or two apart: several rounds each delete
  // some and write a sequences record.
  for (int i = 0; i < 5; ++i) {
    schedule(c.self, c.a, "n" + std::to_string(i), wall_ms() + 50);
    std::this_thread::sleep_for(150ms);
  }
  REQUIRE(eventually([&] { return delivered(c.self, c.orders).size() == 6; }, 5s));
  // Collected, and settled: the log end still for five rounds.
  partition_offsets settled;
  REQUIRE(eventually(
      [&] {
        auto o = c.offsets();
        if (!c.collected()) return false;
        std::this_thread::sleep_for(500ms);
        settled = c.offsets();
        return settled.high_watermark == o.high_watermark;
      },
      10s));
  INFO("settled at [" << settled.log_start_offset << ", " << settled.high_watermark << ")");
  // Down to the last sequences record.
  CHECK(settled.high_watermark == settled.log_start_offset + 1);
  // Fifteen collection rounds idle: not a record more (each used to write a
  // sequences record and delete the one before).
  std::this_thread::sleep_for(1500ms);
  const auto later = c.offsets();
  CHECK(later.high_watermark == settled.high_watermark);
  CHECK(later.log_start_offset == settled.log_start_offset);

  // What the collections kept is what a restart needs: the next delivery to
  // the same target continues its sequences and arrives once.
  c.restart();
  schedule(c.self, c.a, "after", wall_ms() + 50);
  REQUIRE(eventually([&] { return delivered(c.self, c.orders).size() == 7; }, 10s));
  std::this_thread::sleep_for(300ms);
  auto got = delivered(c.self, c.orders);
  CHECK(got.size() == 7);
  CHECK(std::set<std::string>(got.begin(), got.end()).size() == 7);
  CHECK(got.back() == "after");
}
