// SESSION actor (the proxy the RPC layer drives): routing errors, deleted
// topics, the in-flight budget and the multi-partition long poll.

#include <catch2/catch.hpp>

#include <thread>

#include "support/actor_fixture.h"
#include "support/temp_dir.h"

using namespace actormq;
using namespace actormq::test;

namespace {

caf::expected<produce_reply> session_produce(const caf::actor& session, const std::string& topic,
                                             uint32_t partition,
                                             const std::vector<std::string>& values,
                                             acks_level acks = acks_level::leader) {
  auto batch = make_batch(values);
  return session_call<produce_reply>(session, [=](session_state& s, done_fn<produce_reply> done) {
    s.produce(topic, partition, acks, batch, std::move(done));
  });
}

}  // namespace

TEST_CASE("produce to an unknown topic or partition is refused", "[actors][session]") {
  temp_dir dir;
  broker_env env(dir.path());
  env.create_topic("known", 2);
  auto session = env.spawn_test_session();

  CHECK(code_of(session_produce(session, "missing", 0, {"x"})) == errc::unknown_topic);
  CHECK(code_of(session_produce(session, "known", 2, {"x"})) == errc::unknown_partition);
  auto offsets = session_call<int64_t>(session, [](session_state& s, done_fn<int64_t> done) {
    s.list_offsets("known", 7, -2, std::move(done));
  });
  CHECK(code_of(offsets) == errc::unknown_partition);

  auto ok = session_produce(session, "known", 1, {"v0", "v1"});
  REQUIRE(ok);
  CHECK(ok->base_offset == 0);
  CHECK(ok->last_offset == 1);
  // Nothing of the refused produces reached a partition.
  auto topic = session_call<topic_description>(
      session, [](session_state& s, done_fn<topic_description> done) {
        s.describe_topic("known", std::move(done));
      });
  REQUIRE(topic);
  REQUIRE(topic->partitions.size() == 2);
  CHECK(topic->partitions[0].high_watermark == 0);
  CHECK(topic->partitions[1].high_watermark == 2);
}

TEST_CASE("produce after the topic was deleted gives unknown topic", "[actors][session]") {
  temp_dir dir;
  broker_env env(dir.path());
  env.create_topic("doomed", 1);
  auto session = env.spawn_test_session();
  auto first = session_produce(session, "doomed", 0, {"before"});
  REQUIRE(first);
  CHECK(first->base_offset == 0);

  auto deleted = session_call<bool>(session, [](session_state& s, done_fn<bool> done) {
    s.delete_topic("doomed", std::move(done));
  });
  REQUIRE(deleted);
  CHECK(*deleted);
  CHECK(code_of(session_produce(session, "doomed", 0, {"after"})) == errc::unknown_topic);
  CHECK(code_of(session_produce(session, "doomed", 0, {"again"})) == errc::unknown_topic);
}

TEST_CASE(
    "a session that cached a deleted topic reports unknown topic once its stale handle failed",
    "[actors][session]") {
  temp_dir dir;
  broker_env env(dir.path());
  env.create_topic("shared", 1);
  auto cached = env.spawn_test_session();
  auto admin = env.spawn_test_session();
  auto first = session_produce(cached, "shared", 0, {"x"});
  REQUIRE(first);
  CHECK(first->base_offset == 0);
  REQUIRE(session_call<bool>(admin, [](session_state& s, done_fn<bool> done) {
    s.delete_topic("shared", std::move(done));
  }));
  // The cached handle points at stopped partitions: that produce fails at
  // once (the actor is gone, code timeout) and drops the cached handle; the
  // next one resolves the topic again and finds it gone.
  auto stale = session_produce(cached, "shared", 0, {"y"});
  CHECK_FALSE(stale);
  CHECK(code_of(session_produce(cached, "shared", 0, {"z"})) == errc::unknown_topic);
}

TEST_CASE("produce beyond the in-flight limit of a partition is refused with busy",
          "[actors][session][busy]") {
  temp_dir dir;
  registry_settings rs;
  rs.inflight_limit_bytes = 4096;
  broker_env env(dir.path(), rs);
  env.create_topic("tight", 1);
  auto session = env.spawn_test_session();
  const std::string big(1000, 'b');
  auto batch_of = [&](const std::string& tag) {
    return make_batch({tag + big, tag + big, tag + big});
  };
  REQUIRE(batch_of("a")->size() < 4096);
  REQUIRE(2 * batch_of("a")->size() > 4096);

  // Resolves and caches the topic; the budget is free again afterwards.
  auto warm = session_produce(session, "tight", 0, {"warm"});
  REQUIRE(warm);

  // Two produces in one task: the first holds the budget until its answer,
  // which cannot arrive before the second is tried.
  auto first = std::make_shared<std::promise<caf::expected<produce_reply>>>();
  auto second = std::make_shared<std::promise<caf::expected<produce_reply>>>();
  auto f1 = first->get_future();
  auto f2 = second->get_future();
  auto b1 = batch_of("1");
  auto b2 = batch_of("2");
  caf::anon_send(
      session, call_atom::value, session_task{[=](session_state& s) {
        s.produce("tight", 0, acks_level::leader, b1,
                  [first](caf::expected<produce_reply> r) { first->set_value(std::move(r)); });
        s.produce("tight", 0, acks_level::leader, b2,
                  [second](caf::expected<produce_reply> r) { second->set_value(std::move(r)); });
      }});
  REQUIRE(f1.wait_for(request_timeout) == std::future_status::ready);
  REQUIRE(f2.wait_for(request_timeout) == std::future_status::ready);
  auto r1 = f1.get();
  auto r2 = f2.get();
  REQUIRE(r1);
  CHECK(r1->base_offset == 1);
  CHECK(r1->last_offset == 3);
  CHECK(code_of(r2) == errc::busy);

  // Once answered, the budget is released: the retry goes through.
  auto retry =
      session_call<produce_reply>(session, [=](session_state& s, done_fn<produce_reply> done) {
        s.produce("tight", 0, acks_level::leader, batch_of("2"), std::move(done));
      });
  REQUIRE(retry);
  CHECK(retry->base_offset == 4);

  caf::scoped_actor self{env.sys()};
  auto tight = ask<topic_handle>(self, env.registry, lookup_atom::value, std::string("tight"));
  REQUIRE(tight);
  CHECK(tight->budgets[0]->bytes.load() == 0);
  CHECK(values_of(read_partition(self, tight->partitions[0])) ==
        std::vector<std::string>{"warm", "1" + big, "1" + big, "1" + big, "2" + big, "2" + big,
                                 "2" + big});
}

TEST_CASE("the in-flight budget refuses only what would pass its limit",
          "[actors][session][busy]") {
  inflight_budget b;
  b.limit = 100;
  CHECK(b.try_acquire(60));
  CHECK_FALSE(b.try_acquire(60));
  CHECK(b.bytes.load() == 60);
  CHECK(b.try_acquire(40));  // exactly at the limit
  CHECK(b.bytes.load() == 100);
  CHECK_FALSE(b.try_acquire(1));
  b.release(60);
  CHECK(b.try_acquire(50));
  CHECK(b.bytes.load() == 90);
  b.release(90);
  CHECK(b.bytes.load() == 0);
}

TEST_CASE("a session fetch with nothing new waits and returns what a later produce appended",
          "[actors][session][fetch]") {
  temp_dir dir;
  broker_env env(dir.path());
  auto topic = env.create_topic("poll", 2);
  auto consumer = env.spawn_test_session();
  auto producer = env.spawn_test_session();
  REQUIRE(session_produce(producer, "poll", 0, {"old"}));

  // Long poll both partitions from their ends.
  auto fut = std::make_shared<std::promise<caf::expected<std::vector<fetch_item_result>>>>();
  auto result = fut->get_future();
  std::vector<fetch_item> items{{"poll", 0, 1, 1 << 20}, {"poll", 1, 0, 1 << 20}};
  caf::anon_send(consumer, call_atom::value, session_task{[=](session_state& s) {
                   s.fetch(items, 10'000, 1,
                           [fut](caf::expected<std::vector<fetch_item_result>> r) {
                             fut->set_value(std::move(r));
                           });
                 }});
  // Produce only once both partitions hold the parked fetch (bounded), so
  // the answer comes from the long poll, not from the first look.
  caf::scoped_actor self{env.sys()};
  auto parked = [&](uint32_t partition) {
    auto seen = ask<actor_report>(self, topic.partitions[partition], inspect_atom::value);
    return seen && seen->state_json.find("\"parked_fetches\":1") != std::string::npos;
  };
  const auto parked_by = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!(parked(0) && parked(1)) && std::chrono::steady_clock::now() < parked_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(parked(0));
  REQUIRE(parked(1));
  auto start = std::chrono::steady_clock::now();
  auto p = session_produce(producer, "poll", 1, {"fresh"});
  REQUIRE(p);
  CHECK(p->base_offset == 0);
  REQUIRE(result.wait_for(request_timeout) == std::future_status::ready);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(9));
  auto r = result.get();
  REQUIRE(r);
  REQUIRE(r->size() == 2);
  CHECK_FALSE((*r)[0].error);
  CHECK((*r)[0].slice.length == 0);
  CHECK((*r)[0].high_watermark == 1);
  CHECK_FALSE((*r)[1].error);
  CHECK((*r)[1].high_watermark == 1);
  CHECK(records_of((*r)[1].slice) == std::vector<record>{{0, std::nullopt, "fresh"}});

  // Partition 0's long poll was answered with the rest (unparked), not left
  // parked until its 10 s deadline.
  auto seen = ask<actor_report>(self, topic.partitions[0], inspect_atom::value);
  REQUIRE(seen);
  CHECK(seen->state_json.find("\"parked_fetches\":0") != std::string::npos);
}

TEST_CASE("a session fetch answers from its first look with every partition's data and errors",
          "[actors][session][fetch]") {
  temp_dir dir;
  broker_env env(dir.path());
  env.create_topic("both", 2);
  auto session = env.spawn_test_session();
  REQUIRE(session_produce(session, "both", 0, {"zero"}));
  REQUIRE(session_produce(session, "both", 1, {"one"}));
  auto start = std::chrono::steady_clock::now();
  auto r = session_call<std::vector<fetch_item_result>>(
      session, [](session_state& s, done_fn<std::vector<fetch_item_result>> done) {
        s.fetch({{"both", 0, 0, 1 << 20}, {"both", 1, 0, 1 << 20}, {"both", 2, 0, 1 << 20}}, 10'000,
                1, std::move(done));
      });
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(9));
  REQUIRE(r);
  REQUIRE(r->size() == 3);
  CHECK(records_of((*r)[0].slice) == std::vector<record>{{0, std::nullopt, "zero"}});
  CHECK(records_of((*r)[1].slice) == std::vector<record>{{0, std::nullopt, "one"}});
  // A partition the topic lacks is that item's error, not the fetch's.
  CHECK(code_of((*r)[2].error) == errc::unknown_partition);
}

TEST_CASE(
    "a session holds produces past the topic's quota in order and refuses with busy past "
    "its held-bytes bound",
    "[actors][session]") {
  temp_dir dir;
  broker_env env(dir.path());
  topic_config cfg;
  cfg.producer_byte_rate = 4000;  // bytes/s per session
  env.create_topic("metered", 1, cfg);
  env.create_topic("free", 1);
  auto session = env.spawn_test_session([](session_settings& ss) {
    ss.quota_burst = std::chrono::milliseconds(1000);
    ss.quota_max_held_bytes = 6000;
  });
  // Each batch is a little over 1000 bytes: four pass on the burst, the
  // next ones are held (about 0.25 s each), and once about 6000 bytes are
  // held the rest is refused.
  std::string value(1000, 'q');
  using reply = caf::expected<produce_reply>;
  std::vector<std::future<reply>> replies;
  for (int i = 0; i < 14; ++i) {
    auto p = std::make_shared<std::promise<reply>>();
    replies.push_back(p->get_future());
    auto batch = make_batch({value + std::to_string(i)});
    caf::anon_send(session, call_atom::value, session_task{[p, batch](session_state& s) {
                     s.produce("metered", 0, acks_level::leader, batch,
                               [p](reply r) { p->set_value(std::move(r)); });
                   }});
  }
  // Another topic of the same session is not held behind them.
  auto free = session_produce(session, "free", 0, {"now"});
  REQUIRE(free);
  CHECK(free->throttled_ms == 0);

  int passed = 0, held = 0, busy = 0;
  int64_t last_offset = -1;
  for (auto& f : replies) {
    REQUIRE(f.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    auto r = f.get();
    if (!r) {
      CHECK(code_of(r) == errc::busy);
      ++busy;
      continue;
    }
    CHECK(r->base_offset > last_offset);  // stored in the order sent
    last_offset = r->base_offset;
    if (r->throttled_ms > 0) {
      ++held;
    } else {
      ++passed;
    }
  }
  CHECK(passed >= 3);
  CHECK(held >= 3);
  CHECK(busy >= 3);
  CHECK(passed + held + busy == 14);
}
