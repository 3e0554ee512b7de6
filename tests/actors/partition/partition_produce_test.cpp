// PARTITION actor: ordering under concurrent producers and idempotent
// produce (duplicates, sequence gaps, fenced epochs), also across a restart.

#include <catch2/catch.hpp>

#include <deque>
#include <map>
#include <set>
#include <thread>

#include "support/actor_fixture.h"
#include "support/temp_dir.h"

using namespace actormq;
using namespace actormq::test;

namespace {

constexpr int producers = 8;
constexpr int batches_per_producer = 500;
constexpr int records_per_batch = 2;
constexpr size_t window = 32;

std::string value_of(int producer, int seq) {
  return "p" + std::to_string(producer) + "-" + std::to_string(seq);
}

/// What one producer thread saw; checked on the test thread (Catch2's
/// assertions are not thread-safe).
struct producer_outcome {
  std::vector<produce_reply> replies;
  std::vector<std::string> errors;
};

/// Sends all batches of one producer with up to window requests outstanding.
producer_outcome run_producer(caf::actor_system& sys, const partition_actor& p, int id) {
  caf::scoped_actor self{sys};
  producer_outcome out;
  using handle =
      decltype(self->request(p, request_timeout, produce_atom::value, produce_request{}));
  std::deque<handle> pending;
  auto receive_one = [&] {
    pending.front().receive([&](produce_reply& r) { out.replies.push_back(r); },
                            [&](caf::error& e) { out.errors.push_back(text_of(e)); });
    pending.pop_front();
  };
  for (int b = 0; b < batches_per_producer; ++b) {
    std::vector<std::string> values;
    for (int r = 0; r < records_per_batch; ++r)
      values.push_back(value_of(id, b * records_per_batch + r));
    auto req = produce_request{make_batch(values, "p" + std::to_string(id)), acks_level::leader};
    pending.push_back(self->request(p, request_timeout, produce_atom::value, std::move(req)));
    if (pending.size() >= window) receive_one();
  }
  while (!pending.empty()) receive_one();
  return out;
}

}  // namespace

TEST_CASE("many concurrent producers to one partition keep per-producer order and lose nothing",
          "[actors][partition]") {
  temp_dir dir;
  broker_env env(dir.path());
  auto h = env.create_topic("orders", 1);
  auto p = h.partitions[0];

  std::vector<producer_outcome> outcomes(producers);
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < producers; ++i) {
      threads.emplace_back([&, i] { outcomes[i] = run_producer(env.sys(), p, i); });
    }
    for (auto& t : threads) t.join();
  }

  // Every request got an answer; each producer's offsets increase with its
  // sequence, and no two batches share an offset.
  std::set<int64_t> used;
  for (int i = 0; i < producers; ++i) {
    INFO("producer " << i);
    CHECK(outcomes[i].errors.empty());
    REQUIRE(outcomes[i].replies.size() == batches_per_producer);
    int64_t last = -1;
    for (const auto& r : outcomes[i].replies) {
      CHECK(r.last_offset - r.base_offset == records_per_batch - 1);
      CHECK(r.base_offset > last);
      CHECK_FALSE(r.duplicate);
      last = r.last_offset;
      for (int64_t o = r.base_offset; o <= r.last_offset; ++o) CHECK(used.insert(o).second);
    }
  }
  const int64_t total = int64_t{producers} * batches_per_producer * records_per_batch;
  CHECK(used.size() == static_cast<size_t>(total));

  // Read back: offsets are dense, each producer's records are complete and
  // in sequence order, and each record sits at the offset its reply named.
  caf::scoped_actor self{env.sys()};
  auto records = read_partition(self, p);
  REQUIRE(records.size() == static_cast<size_t>(total));
  std::map<int, int> next_seq;
  for (int64_t i = 0; i < total; ++i) {
    const auto& r = records[static_cast<size_t>(i)];
    REQUIRE(r.offset == i);
    REQUIRE(r.key);
    int id = std::stoi(r.key->substr(1));
    REQUIRE(r.value == value_of(id, next_seq[id]));
    ++next_seq[id];
  }
  for (int i = 0; i < producers; ++i) {
    CHECK(next_seq[i] == batches_per_producer * records_per_batch);
    // The first reply of producer i names the offset of its first record.
    const auto& first = outcomes[i].replies.front();
    CHECK(records[static_cast<size_t>(first.base_offset)].value == value_of(i, 0));
  }
}

TEST_CASE("a retried idempotent batch is stored once and answered with its original offsets",
          "[actors][partition][idempotence]") {
  temp_dir dir;
  partition_env env;
  auto p = env.spawn(dir.path() / "p0");
  caf::scoped_actor self{env.sys()};
  auto produce = [&](const std::vector<std::string>& values, producer_fields pf) {
    return ask<produce_reply>(self, p, produce_atom::value,
                              make_produce(values, acks_level::leader, pf));
  };

  auto a = produce({"a0", "a1"}, {7, 0, 0});
  REQUIRE(a);
  CHECK(a->base_offset == 0);
  CHECK(a->last_offset == 1);
  CHECK_FALSE(a->duplicate);
  auto b = produce({"b2", "b3", "b4"}, {7, 0, 2});
  REQUIRE(b);
  CHECK(b->base_offset == 2);
  CHECK(b->last_offset == 4);

  // Retries of either batch (the latest and an earlier one) are duplicates.
  auto b_again = produce({"b2", "b3", "b4"}, {7, 0, 2});
  REQUIRE(b_again);
  CHECK(b_again->duplicate);
  CHECK(b_again->base_offset == 2);
  CHECK(b_again->last_offset == 4);
  auto a_again = produce({"a0", "a1"}, {7, 0, 0});
  REQUIRE(a_again);
  CHECK(a_again->duplicate);
  CHECK(a_again->base_offset == 0);
  CHECK(a_again->last_offset == 1);

  // A gap in the sequence is refused, and nothing is written.
  auto gap = produce({"x"}, {7, 0, 9});
  CHECK(code_of(gap) == errc::out_of_order_sequence);

  // Another producer has sequences of its own.
  auto other = produce({"o0"}, {8, 0, 0});
  REQUIRE(other);
  CHECK(other->base_offset == 5);

  // A new epoch restarts the sequence; the old epoch is fenced from then on.
  auto bumped = produce({"c0"}, {7, 1, 0});
  REQUIRE(bumped);
  CHECK(bumped->base_offset == 6);
  CHECK_FALSE(bumped->duplicate);
  auto zombie = produce({"z5"}, {7, 0, 5});
  CHECK(code_of(zombie) == errc::invalid_producer_epoch);

  auto records = read_partition(self, p);
  CHECK(records == std::vector<record>{{0, std::nullopt, "a0"},
                                       {1, std::nullopt, "a1"},
                                       {2, std::nullopt, "b2"},
                                       {3, std::nullopt, "b3"},
                                       {4, std::nullopt, "b4"},
                                       {5, std::nullopt, "o0"},
                                       {6, std::nullopt, "c0"}});
}

namespace {

/// Appends two idempotent batches, restarts the partition (optionally
/// without its producer snapshot, forcing a rebuild from the log), then
/// retries the second batch and continues the sequence.
void check_idempotence_across_restart(bool drop_snapshot) {
  temp_dir dir;
  partition_env env;
  const auto log_dir = dir.path() / "p0";
  caf::scoped_actor self{env.sys()};
  auto produce = [&](const partition_actor& p, const std::vector<std::string>& values,
                     producer_fields pf) {
    return ask<produce_reply>(self, p, produce_atom::value,
                              make_produce(values, acks_level::leader, pf));
  };

  auto p = env.spawn(log_dir);
  REQUIRE(produce(p, {"plain"}, {}));  // a non-idempotent batch first
  auto first = produce(p, {"s0", "s1"}, {42, 3, 0});
  REQUIRE(first);
  CHECK(first->base_offset == 1);
  auto second = produce(p, {"s2"}, {42, 3, 2});
  REQUIRE(second);
  CHECK(second->base_offset == 3);
  REQUIRE(stop_and_wait(env.sys(), caf::actor_cast<caf::actor>(p)));

  REQUIRE(fs::exists(log_dir / "producers.snapshot"));
  if (drop_snapshot) fs::remove(log_dir / "producers.snapshot");

  auto q = env.spawn(log_dir);
  auto retry = produce(q, {"s2"}, {42, 3, 2});
  REQUIRE(retry);
  CHECK(retry->duplicate);
  CHECK(retry->base_offset == 3);
  CHECK(retry->last_offset == 3);
  CHECK(code_of(produce(q, {"s9"}, {42, 3, 9})) == errc::out_of_order_sequence);
  CHECK(code_of(produce(q, {"old"}, {42, 2, 3})) == errc::invalid_producer_epoch);
  auto next = produce(q, {"s3"}, {42, 3, 3});
  REQUIRE(next);
  CHECK_FALSE(next->duplicate);
  CHECK(next->base_offset == 4);

  auto records = read_partition(self, q);
  CHECK(values_of(records) == std::vector<std::string>{"plain", "s0", "s1", "s2", "s3"});
  CHECK(records.back().offset == 4);
}

}  // namespace

TEST_CASE("a retried idempotent batch is still a duplicate after a restart from the snapshot",
          "[actors][partition][idempotence]") {
  check_idempotence_across_restart(false);
}

TEST_CASE(
    "a retried idempotent batch is still a duplicate after a restart that rebuilds from the log",
    "[actors][partition][idempotence]") {
  check_idempotence_across_restart(true);
}
