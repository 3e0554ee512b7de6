// Unit: the producer's batches from append to settle, no broker needed.
#include <catch2/catch.hpp>

#include "actormq/client/producer.h"
#include "app/client/src/record_accumulator.h"
#include "storage/record_batch.h"

using namespace actormq::client;
using detail::producer_batch;
using detail::record_accumulator;
using namespace std::chrono_literals;

namespace {

namespace L = actormq::storage::batch_layout;

/// A batch limit every record reaches: each record is a full batch of its
/// own (only full batches are pipelined).
constexpr size_t every_record_full = 1;

producer_config test_config() {
  producer_config cfg;
  cfg.linger_ms = 0;
  cfg.idempotent = true;
  cfg.max_in_flight_per_partition = 1;
  return cfg;
}

int32_t sequence_of(const producer_batch& b) {
  return actormq::storage::load_le<int32_t>(reinterpret_cast<const uint8_t*>(b.bytes->data()) +
                                            L::base_sequence);
}

int64_t producer_id_of(const producer_batch& b) {
  return actormq::storage::load_le<int64_t>(reinterpret_cast<const uint8_t*>(b.bytes->data()) +
                                            L::producer_id);
}

void add(record_accumulator& acc, const topic_partition& tp, const std::string& value) {
  producer_record_view rec;
  rec.topic = tp.topic;
  rec.value = value;
  rec.partition = tp.partition;
  (void)acc.append(tp, rec, 1000, 64, [](const delivery_report&) {});
}

/// A drain context: the leader at address (none when empty), producer id
/// 42 epoch 3, a 100 ms backoff; flush seals every open batch.
record_accumulator::drain_context context(const std::string& leader,
                                          std::chrono::steady_clock::time_point now, bool flush) {
  record_accumulator::drain_context ctx;
  ctx.now = now;
  ctx.flush = flush;
  ctx.producer_id = 42;
  ctx.epoch = 3;
  ctx.route = [leader](producer_batch& b) {
    if (leader.empty()) return false;
    b.leader_address = leader;
    return true;
  };
  ctx.backoff = [](uint32_t) { return std::chrono::steady_clock::duration(100ms); };
  return ctx;
}

/// What the sender does with a drain: writes each ready batch's CRC
/// before it sends it.
record_accumulator::drained sent(record_accumulator::drained d) {
  for (auto& b : d.ready) record_accumulator::write_crc(*b);
  return d;
}

/// A drain with a flush.
record_accumulator::drained drain(record_accumulator& acc, const std::string& leader,
                                  std::chrono::steady_clock::time_point now) {
  return sent(acc.drain(context(leader, now, true)));
}

/// A drain without a flush: open batches are sealed when their linger is
/// over (test_config: 0 ms) and nothing holds them back.
record_accumulator::drained drain_linger(record_accumulator& acc, const std::string& leader,
                                         std::chrono::steady_clock::time_point now) {
  return sent(acc.drain(context(leader, now, false)));
}

/// drain() while a new producer id is on its way (drain_context::hold).
record_accumulator::drained drain_holding(record_accumulator& acc, const std::string& leader,
                                          std::chrono::steady_clock::time_point now) {
  auto ctx = context(leader, now, true);  // seals the open batch: sealed, it still waits
  ctx.hold = true;
  ctx.producer_id = 43;  // would be the new id: must not be stamped
  ctx.epoch = 0;
  return sent(acc.drain(ctx));
}

/// The broker stored b at offset 0: what a reply does (returned, settled).
void settle_stored(record_accumulator& acc, producer_batch& b) {
  std::vector<detail::completion> done;
  acc.returned(b);
  acc.settle(b, {}, 0, done);
}

/// Each settled record's report, in order.
std::vector<delivery_report> reports(const std::vector<detail::completion>& done) {
  std::vector<delivery_report> out;
  for (const auto& c : done) {
    for (size_t i = 0; i < c.size(); ++i) out.push_back(c.report(i));
  }
  return out;
}

bool crc_valid(const producer_batch& b) {
  return static_cast<bool>(actormq::storage::validate_batch(
      {reinterpret_cast<const uint8_t*>(b.bytes->data()), b.bytes->size()}, 1 << 20,
      actormq::storage::validation::full_records));
}

}  // namespace

TEST_CASE("a batch goes to its partition's leader stamped with the producer id and sequence",
          "[client][accumulator]") {
  record_accumulator acc(test_config(), 1 << 20);
  topic_partition tp{"t", 0};
  add(acc, tp, "a");
  add(acc, tp, "b");
  auto now = std::chrono::steady_clock::now();
  auto d = drain(acc, "h:1", now);
  REQUIRE(d.ready.size() == 1);
  auto& b = *d.ready[0];
  CHECK(b.leader_address == "h:1");
  CHECK(b.record_count == 2);
  CHECK(producer_id_of(b) == 42);
  CHECK(sequence_of(b) == 0);
  CHECK(b.st == producer_batch::state::in_flight);
  CHECK(acc.in_flight() == 1);
}

TEST_CASE("a batch moved to another leader keeps its sequence", "[client][accumulator]") {
  record_accumulator acc(test_config(), 1 << 20);
  topic_partition tp{"t", 0};
  add(acc, tp, "a");
  add(acc, tp, "b");
  auto now = std::chrono::steady_clock::now();
  auto first = drain(acc, "h:1", now);
  REQUIRE(first.ready.size() == 1);
  auto b = first.ready[0];
  // notLeader: the batch comes back and is sent again, to the new leader.
  acc.returned(*b);
  add(acc, tp, "c");  // a later record: its own batch, next sequence
  auto second = drain(acc, "h:2", now);
  REQUIRE(second.ready.size() == 1);
  CHECK(second.ready[0] == b);
  CHECK(b->leader_address == "h:2");
  CHECK(sequence_of(*b) == 0);
  CHECK(b->attempts == 2);
  std::vector<detail::completion> done;
  acc.returned(*b);
  acc.settle(*b, {}, 10, done);
  REQUIRE(reports(done).size() == 2);
  CHECK(reports(done)[1].offset == 11);
  auto third = drain(acc, "h:2", now);
  REQUIRE(third.ready.size() == 1);
  CHECK(sequence_of(*third.ready[0]) == 2);
}

TEST_CASE("a batch without a leader waits for the backoff and asks for metadata",
          "[client][accumulator]") {
  record_accumulator acc(test_config(), 1 << 20);
  topic_partition tp{"t", 0};
  add(acc, tp, "a");
  auto now = std::chrono::steady_clock::now();
  auto d = drain(acc, "", now);
  CHECK(d.ready.empty());
  CHECK(d.want_metadata);
  CHECK(d.next_wake <= now + 100ms);
  // Before the backoff passed nothing goes, even with a leader now.
  CHECK(drain(acc, "h:1", now + 50ms).ready.empty());
  auto later = drain(acc, "h:1", now + 100ms);
  REQUIRE(later.ready.size() == 1);
  CHECK(sequence_of(*later.ready[0]) == 0);
}

TEST_CASE("a queued batch past its delivery timeout fails with delivery timeout",
          "[client][accumulator]") {
  auto cfg = test_config();
  cfg.delivery_timeout_ms = 1000;
  record_accumulator acc(cfg, 1 << 20);
  add(acc, {"t", 0}, "a");
  auto now = std::chrono::steady_clock::now();
  CHECK(drain(acc, "", now).ready.empty());  // offline partition
  bool gap = false;
  CHECK(acc.expire(now, gap).empty());
  auto done = acc.expire(now + 2s, gap);
  REQUIRE(reports(done).size() == 1);
  CHECK(reports(done)[0].err.is(errc::delivery_timeout));
  CHECK_FALSE(gap);  // never stamped: no sequence gap
  CHECK(acc.buffered_bytes() == 0);
}

TEST_CASE("a batch still open past its delivery timeout fails with delivery timeout",
          "[client][accumulator]") {
  // While a new producer id cannot be had (the broker is frozen), drain()
  // is not called and nothing seals the open batch: expire() must.
  auto cfg = test_config();
  cfg.delivery_timeout_ms = 1000;
  cfg.linger_ms = 60000;
  record_accumulator acc(cfg, 1 << 20);
  add(acc, {"t", 0}, "a");
  add(acc, {"t", 0}, "b");
  auto now = std::chrono::steady_clock::now();
  bool gap = false;
  CHECK(acc.expire(now, gap).empty());
  auto done = acc.expire(now + 2s, gap);
  REQUIRE(reports(done).size() == 2);
  CHECK(reports(done)[0].err.is(errc::delivery_timeout));
  CHECK(reports(done)[1].err.is(errc::delivery_timeout));
  CHECK(acc.buffered_bytes() == 0);
  // The partition takes new records in a new batch.
  add(acc, {"t", 0}, "c");
  CHECK(acc.buffered_bytes() > 0);
}

TEST_CASE("only max in flight batches of a partition are sent at once", "[client][accumulator]") {
  record_accumulator acc(test_config(), 1 << 20);
  topic_partition tp{"t", 0};
  add(acc, tp, "a");
  auto now = std::chrono::steady_clock::now();
  REQUIRE(drain(acc, "h:1", now).ready.size() == 1);
  add(acc, tp, "b");
  CHECK(drain(acc, "h:1", now).ready.empty());  // the first is still in flight
  CHECK(drain(acc, "h:1", now).ready.empty());
  // Other partitions are not held back.
  add(acc, {"t", 1}, "c");
  CHECK(drain(acc, "h:2", now).ready.size() == 1);
}

TEST_CASE("a batch sent before it is full waits until nothing of its partition is in flight",
          "[client][accumulator]") {
  auto cfg = test_config();
  cfg.max_in_flight_per_partition = 5;
  record_accumulator acc(cfg, 1 << 20);
  topic_partition tp{"t", 0};
  add(acc, tp, "a");
  auto now = std::chrono::steady_clock::now();
  auto first = drain(acc, "h:1", now);  // a flush: sealed before it is full
  REQUIRE(first.ready.size() == 1);
  add(acc, tp, "b");
  add(acc, tp, "c");
  CHECK(drain(acc, "h:1", now).ready.empty());  // slots free, yet b waits for a
  settle_stored(acc, *first.ready[0]);
  auto second = drain(acc, "h:1", now);
  REQUIRE(second.ready.size() == 1);
  CHECK(second.ready[0]->record_count == 2);  // b and c: one round trip
  CHECK(sequence_of(*second.ready[0]) == 1);
}

TEST_CASE("full batches are pipelined up to max in flight, in sequence order",
          "[client][accumulator]") {
  auto cfg = test_config();
  cfg.max_in_flight_per_partition = 5;
  record_accumulator acc(cfg, every_record_full);
  topic_partition tp{"t", 0};
  for (int i = 0; i < 7; ++i) add(acc, tp, "r" + std::to_string(i));
  auto now = std::chrono::steady_clock::now();
  auto d = drain(acc, "h:1", now);
  REQUIRE(d.ready.size() == 5);
  for (int i = 0; i < 5; ++i) {
    CHECK(d.ready[static_cast<size_t>(i)]->full);
    CHECK(sequence_of(*d.ready[static_cast<size_t>(i)]) == i);
  }
  CHECK(drain(acc, "h:1", now).ready.empty());
  settle_stored(acc, *d.ready[0]);
  auto next = drain(acc, "h:1", now);
  REQUIRE(next.ready.size() == 1);
  CHECK(sequence_of(*next.ready[0]) == 5);
}

TEST_CASE("an open batch keeps filling past its linger while a batch of its partition is in flight",
          "[client][accumulator]") {
  auto cfg = test_config();
  cfg.max_in_flight_per_partition = 5;
  record_accumulator acc(cfg, 1 << 20);
  topic_partition tp{"t", 0};
  auto now = std::chrono::steady_clock::now();
  add(acc, tp, "a");
  auto first = drain_linger(acc, "h:1", now + 1ms);
  REQUIRE(first.ready.size() == 1);
  CHECK_FALSE(first.ready[0]->full);
  add(acc, tp, "b");
  CHECK(drain_linger(acc, "h:1", now + 2ms).ready.empty());
  add(acc, tp, "c");
  CHECK(drain_linger(acc, "h:1", now + 3ms).ready.empty());
  CHECK(acc.has_unsent(tp));  // the reply must wake the sender
  settle_stored(acc, *first.ready[0]);
  auto second = drain_linger(acc, "h:1", now + 4ms);
  REQUIRE(second.ready.size() == 1);
  CHECK(second.ready[0]->record_count == 2);
  CHECK(crc_valid(*second.ready[0]));
}

TEST_CASE("a full batch may go while a batch not full is in flight", "[client][accumulator]") {
  auto cfg = test_config();
  cfg.max_in_flight_per_partition = 5;
  record_accumulator acc(cfg, 4096);
  topic_partition tp{"t", 0};
  auto now = std::chrono::steady_clock::now();
  add(acc, tp, "small");
  auto first = drain_linger(acc, "h:1", now + 1ms);
  REQUIRE(first.ready.size() == 1);
  const std::string big(1500, 'x');
  for (int i = 0; i < 3; ++i) add(acc, tp, big);  // past 4096 bytes: sealed as full
  auto second = drain_linger(acc, "h:1", now + 2ms);
  REQUIRE(second.ready.size() == 1);
  CHECK(second.ready[0]->full);
  CHECK(second.ready[0]->record_count == 3);
  CHECK(sequence_of(*second.ready[0]) == 1);
  CHECK(acc.in_flight() == 2);
}

TEST_CASE("a producer that is not idempotent sends its batches one at a time even when full",
          "[client][accumulator]") {
  auto cfg = test_config();
  cfg.idempotent = false;
  cfg.max_in_flight_per_partition = 5;
  record_accumulator acc(cfg, every_record_full);
  topic_partition tp{"t", 0};
  for (int i = 0; i < 3; ++i) add(acc, tp, "r" + std::to_string(i));
  auto now = std::chrono::steady_clock::now();
  auto d = drain(acc, "h:1", now);
  REQUIRE(d.ready.size() == 1);
  CHECK(crc_valid(*d.ready[0]));  // never stamped, its CRC written all the same
  CHECK(drain(acc, "h:1", now).ready.empty());
}

TEST_CASE("a batch restamped under a new producer id is sent with a valid CRC",
          "[client][accumulator]") {
  record_accumulator acc(test_config(), 1 << 20);
  topic_partition tp{"t", 0};
  add(acc, tp, "a");
  auto now = std::chrono::steady_clock::now();
  auto a = drain(acc, "h:1", now).ready.at(0);
  CHECK(crc_valid(*a));
  const auto* first_bytes = a->bytes.get();
  acc.returned(*a);
  acc.mark_absent(*a);  // out_of_order_sequence: not stored, may be restamped
  acc.restart_sequences();
  auto ctx = context("h:1", now, false);
  ctx.producer_id = 77;  // the new id
  ctx.epoch = 0;
  auto again = sent(acc.drain(ctx));
  REQUIRE(again.ready.size() == 1);
  CHECK(again.ready[0] == a);
  CHECK(a->bytes.get() != first_bytes);  // a copy: the first write may still read the old one
  CHECK(producer_id_of(*a) == 77);
  CHECK(sequence_of(*a) == 0);
  CHECK(crc_valid(*a));
}

TEST_CASE("a drained batch gets its CRC only from write_crc, and only once",
          "[client][accumulator]") {
  record_accumulator acc(test_config(), 1 << 20);
  topic_partition tp{"t", 0};
  add(acc, tp, "a");
  auto d = acc.drain(context("h:1", std::chrono::steady_clock::now(), true));
  REQUIRE(d.ready.size() == 1);
  auto& b = *d.ready[0];
  CHECK(b.crc_pending);  // drain() (under the producer's lock) left the pass over the bytes
  CHECK_FALSE(crc_valid(b));
  CHECK(producer_id_of(b) == 42);  // stamped all the same
  record_accumulator::write_crc(b);
  CHECK_FALSE(b.crc_pending);
  CHECK(crc_valid(b));
  // Written once: a resend of the same buffer must not rewrite what an
  // earlier request's write may still be reading.
  auto* crc = reinterpret_cast<uint8_t*>(b.bytes->data()) + L::crc;
  crc[0] ^= 0xff;
  record_accumulator::write_crc(b);
  CHECK_FALSE(crc_valid(b));
}

TEST_CASE("a completion's reports carry each record's offset, id, due time and throttle",
          "[client][accumulator]") {
  detail::completion c;
  c.tp = {"orders", 3};
  c.callbacks.resize(2);
  c.ids = {message_id{1, 2}, message_id{3, 4}};
  c.dues = {5000, 9000};
  c.base_offset = 40;
  c.scheduled_at = 7000;  // the broker's time for the batch: the earliest
  c.throttled_ms = 12;
  REQUIRE(c.size() == 2);
  auto r0 = c.report(0);
  auto r1 = c.report(1);
  CHECK(r0.topic == "orders");
  CHECK(r0.partition == 3);
  CHECK(r0.offset == 40);
  CHECK(r1.offset == 41);
  CHECK(r0.id == message_id{1, 2});
  CHECK(r1.id == message_id{3, 4});
  CHECK(r0.scheduled);
  CHECK(r0.deliver_at_ms == 7000);  // its own time had passed: the broker's
  CHECK(r1.deliver_at_ms == 9000);  // its own time, not before it
  CHECK(r1.throttled_ms == 12);
  CHECK_FALSE(r1.err);

  detail::completion failed = c;
  failed.err = error(errc::delivery_timeout, "late");
  failed.base_offset = -1;
  failed.scheduled_at = -1;
  auto f = failed.report(1);
  CHECK(f.err.is(errc::delivery_timeout));
  CHECK(f.offset == -1);
  CHECK_FALSE(f.scheduled);
  CHECK(f.deliver_at_ms == -1);
}

TEST_CASE("a new producer id restamps from sequence zero a batch proven absent",
          "[client][accumulator]") {
  record_accumulator acc(test_config(), 1 << 20);
  topic_partition tp{"t", 0};
  add(acc, tp, "a");
  auto now = std::chrono::steady_clock::now();
  auto b = drain(acc, "h:1", now).ready.at(0);
  settle_stored(acc, *b);
  add(acc, tp, "b");
  auto c = drain(acc, "h:1", now).ready.at(0);
  CHECK(sequence_of(*c) == 1);
  acc.returned(*c);
  CHECK(acc.awaiting_outcome());  // sent: it may be stored
  acc.mark_absent(*c);            // the broker answered out_of_order_sequence
  CHECK_FALSE(acc.awaiting_outcome());
  CHECK(drain_holding(acc, "h:1", now).ready.empty());  // absent: not resent under the old id
  // The first attempt's request may still be being written (write_pins.h):
  // the restamp must not touch the bytes it refers to.
  std::shared_ptr<const std::string> first_attempt = c->bytes;
  const std::string sent_bytes = *first_attempt;
  acc.restart_sequences();
  auto again = drain(acc, "h:1", now).ready.at(0);
  CHECK(again == c);
  CHECK(sequence_of(*c) == 0);
  CHECK(c->bytes != first_attempt);     // stamped in a copy
  CHECK(*first_attempt == sent_bytes);  // the earlier write's bytes unchanged
  CHECK(*c->bytes != sent_bytes);
}

TEST_CASE("a new producer id stamps a batch never sent from sequence zero",
          "[client][accumulator]") {
  record_accumulator acc(test_config(), 1 << 20);
  topic_partition tp{"t", 0};
  add(acc, tp, "a");
  auto now = std::chrono::steady_clock::now();
  auto a = drain(acc, "h:1", now).ready.at(0);
  settle_stored(acc, *a);
  add(acc, tp, "b");
  CHECK_FALSE(acc.awaiting_outcome());
  CHECK(drain_holding(acc, "h:1", now).ready.empty());  // nothing stamped while the id waits
  acc.restart_sequences();
  auto b = drain(acc, "h:1", now).ready.at(0);
  CHECK(sequence_of(*b) == 0);
}

TEST_CASE("a batch sent before a new producer id keeps its stamp until its fate is known",
          "[client][accumulator]") {
  // kill-delay-owner, 100k: a batch stored at offset 15845 (producer 1001,
  // sequence 5284) lost its reply; a gap elsewhere brought producer id 3,
  // and the restamped resend (producer 3, sequence 0) was stored again.
  auto cfg = test_config();
  cfg.max_in_flight_per_partition = 2;  // b is held by the new id, not the limit
  record_accumulator acc(cfg, every_record_full);
  topic_partition tp{"t", 0};
  add(acc, tp, "a");
  auto now = std::chrono::steady_clock::now();
  auto a = drain(acc, "h:1", now).ready.at(0);
  acc.returned(*a);  // request timed out: stored or not, nobody knows
  a->retry_at = now;
  add(acc, tp, "b");
  CHECK(acc.awaiting_outcome());
  auto held = drain_holding(acc, "h:1", now);
  REQUIRE(held.ready.size() == 1);  // a, resent under its old stamp; b waits
  CHECK(held.ready[0] == a);
  CHECK(producer_id_of(*a) == 42);
  CHECK(sequence_of(*a) == 0);
  CHECK(acc.awaiting_outcome());  // in flight again, still unknown
  std::vector<detail::completion> done;
  acc.returned(*a);
  acc.settle(*a, {}, 15845, done);  // answered as a duplicate: stored once
  REQUIRE(reports(done).size() == 1);
  CHECK(reports(done)[0].offset == 15845);
  CHECK_FALSE(acc.awaiting_outcome());
  acc.restart_sequences();
  auto b = drain(acc, "h:1", now).ready.at(0);  // only now under a new id
  CHECK(sequence_of(*b) == 0);
}

TEST_CASE("a batch of unknown fate that times out is reported and never sent again",
          "[client][accumulator]") {
  auto cfg = test_config();
  cfg.delivery_timeout_ms = 1000;
  record_accumulator acc(cfg, 1 << 20);
  topic_partition tp{"t", 0};
  add(acc, tp, "a");
  auto now = std::chrono::steady_clock::now();
  auto a = drain(acc, "h:1", now).ready.at(0);
  acc.returned(*a);  // request timed out
  REQUIRE(acc.awaiting_outcome());
  bool gap = false;
  auto done = acc.expire(now + 2s, gap);
  REQUIRE(reports(done).size() == 1);
  CHECK(reports(done)[0].err.is(errc::delivery_timeout));
  CHECK(reports(done)[0].offset == -1);
  CHECK(gap);
  CHECK_FALSE(acc.awaiting_outcome());
  add(acc, tp, "c");
  CHECK(drain_holding(acc, "h:1", now + 2s).ready.empty());
  acc.restart_sequences();
  auto ready = drain(acc, "h:1", now + 2s).ready;
  REQUIRE(ready.size() == 1);  // c alone: a is gone
  CHECK(ready[0] != a);
  CHECK(sequence_of(*ready[0]) == 0);
}

TEST_CASE("a batch proven absent cannot fill a later batch's sequence gap",
          "[client][accumulator]") {
  auto cfg = test_config();
  cfg.max_in_flight_per_partition = 2;
  record_accumulator acc(cfg, every_record_full);
  topic_partition tp{"t", 0};
  add(acc, tp, "a");
  auto now = std::chrono::steady_clock::now();
  auto a = drain(acc, "h:1", now).ready.at(0);
  add(acc, tp, "b");
  auto b = drain(acc, "h:1", now).ready.at(0);
  acc.returned(*a);
  acc.returned(*b);
  CHECK_FALSE(acc.earlier_unsettled(*a));
  CHECK(acc.earlier_unsettled(*b));  // a may still be stored before b
  acc.mark_absent(*a);
  CHECK_FALSE(acc.earlier_unsettled(*b));  // so b's out_of_order proves b absent too
}

TEST_CASE("a partition count is reused only while it is younger than the given age") {
  record_accumulator acc(test_config(), 1 << 20);
  const auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(acc.recent_partition_count("t", t0, 100ms));  // never looked up
  acc.set_partition_count("t", 6, t0);
  CHECK(acc.recent_partition_count("t", t0 + 99ms, 100ms) == 6u);
  CHECK_FALSE(acc.recent_partition_count("t", t0 + 100ms, 100ms));
  // Looked up again (same count): fresh again; a new count replaces it.
  acc.set_partition_count("t", 6, t0 + 150ms);
  CHECK(acc.recent_partition_count("t", t0 + 200ms, 100ms) == 6u);
  acc.set_partition_count("t", 9, t0 + 210ms);
  CHECK(acc.recent_partition_count("t", t0 + 220ms, 100ms) == 9u);
  // A count of 0 (no metadata) is not recorded.
  acc.set_partition_count("u", 0, t0);
  CHECK_FALSE(acc.recent_partition_count("u", t0, 100ms));
}

TEST_CASE("records of topics sent in turn each take their own topic's partitions",
          "[client][accumulator]") {
  // send() looks a topic up by comparing it with the last one found, and
  // hashes it only when the topic changes: records of three topics in turn,
  // round robin, must each count through their own topic's partitions.
  auto cfg = test_config();
  cfg.partitioner = actormq::client::partitioner_kind::murmur2_round_robin;
  record_accumulator acc(cfg, 1 << 20);
  const auto t0 = std::chrono::steady_clock::now();
  acc.set_partition_count("t", 3, t0);
  acc.set_partition_count("u", 5, t0);
  std::vector<uint32_t> t_parts, u_parts;
  for (int i = 0; i < 10; ++i) {
    producer_record_view rec;
    rec.topic = "t";
    CHECK(acc.recent_partition_count(rec.topic, t0, 100ms) == 3u);
    t_parts.push_back(acc.choose_partition(rec));
    rec.topic = "u";
    CHECK(acc.recent_partition_count(rec.topic, t0, 100ms) == 5u);
    u_parts.push_back(acc.choose_partition(rec));
    // A topic first seen after the others, never counted: no count, and
    // partition 0; each adds an entry (the table grows under the last one).
    const std::string v = "v" + std::to_string(i);
    rec.topic = v;
    CHECK_FALSE(acc.recent_partition_count(rec.topic, t0, 100ms));
    CHECK(acc.choose_partition(rec) == 0u);
  }
  CHECK(t_parts == std::vector<uint32_t>{0, 1, 2, 0, 1, 2, 0, 1, 2, 0});
  CHECK(u_parts == std::vector<uint32_t>{0, 1, 2, 3, 4, 0, 1, 2, 3, 4});
  // A count set while another topic is the last one looked up is seen.
  acc.set_partition_count("t", 4, t0 + 1ms);
  CHECK(acc.recent_partition_count("u", t0, 100ms) == 5u);
  CHECK(acc.recent_partition_count("t", t0 + 1ms, 100ms) == 4u);
}

TEST_CASE("a reply needs the sender only while something waits to be sent",
          "[client][accumulator]") {
  // The producer wakes its sender on a reply only when has_unsent() holds for
  // the reply's partition: a wake-up per reply for nothing costs a thread
  // switch per message.
  record_accumulator acc(test_config(), 1 << 20);
  topic_partition tp{"t", 0};
  CHECK_FALSE(acc.has_unsent(tp));
  add(acc, tp, "a");
  CHECK(acc.has_unsent(tp));  // open
  auto now = std::chrono::steady_clock::now();
  auto first = drain(acc, "h:1", now);
  REQUIRE(first.ready.size() == 1);
  CHECK_FALSE(acc.has_unsent(tp));  // all in flight: a reply has nothing to send
  // Another partition's open batch is the sender's own plan (its linger),
  // not something tp's reply changes.
  topic_partition other{"t", 1};
  add(acc, other, "x");
  CHECK(acc.has_unsent(other));
  CHECK_FALSE(acc.has_unsent(tp));
  CHECK_FALSE(acc.has_unsent(topic_partition{"never-used", 0}));
  add(acc, tp, "b");
  (void)drain(acc, "h:1", now);  // sealed, but the one slot in flight is taken
  CHECK(acc.has_unsent(tp));
  std::vector<actormq::client::detail::completion> done;
  acc.returned(*first.ready[0]);
  acc.settle(*first.ready[0], {}, 0, done);
  CHECK(acc.has_unsent(tp));  // the waiting batch may go now
  auto second = drain(acc, "h:1", now);
  REQUIRE(second.ready.size() == 1);
  CHECK_FALSE(acc.has_unsent(tp));
  // A failed attempt comes back to be retried: the sender must plan it.
  acc.returned(*second.ready[0]);
  CHECK(acc.has_unsent(tp));
}

TEST_CASE("a settled batch's buffer is reused by a later batch once nothing refers to it",
          "[client][accumulator]") {
  record_accumulator acc(test_config(), 64 << 10);
  topic_partition tp{"t", 0};
  const std::string value(1000, 'v');
  for (int i = 0; i < 40; ++i) add(acc, tp, value);
  auto now = std::chrono::steady_clock::now();
  auto first = drain(acc, "h:1", now);
  REQUIRE(first.ready.size() == 1);
  auto b = first.ready[0];
  const size_t capacity = b->bytes->capacity();
  const auto* data = b->bytes->data();
  CHECK(capacity >= b->bytes->size());
  settle_stored(acc, *b);
  first.ready.clear();
  // A write pin or a request still refers to the bytes: not reused yet.
  auto pinned = b->bytes;
  b.reset();
  CHECK(acc.buffer_pool().buffers() == 0);
  pinned.reset();
  CHECK(acc.buffer_pool().buffers() == 1);
  CHECK(acc.buffer_pool().bytes() == capacity);

  // The next batch is built in it: same memory, its own bytes, valid.
  add(acc, tp, "next");
  CHECK(acc.buffer_pool().buffers() == 0);
  auto second = drain(acc, "h:1", now);
  REQUIRE(second.ready.size() == 1);
  auto& nb = *second.ready[0];
  CHECK(nb.bytes->data() == data);
  CHECK(nb.record_count == 1);
  CHECK(sequence_of(nb) == 40);
  auto valid = actormq::storage::validate_batch(
      {reinterpret_cast<const uint8_t*>(nb.bytes->data()), nb.bytes->size()}, 1 << 20,
      actormq::storage::validation::full_records);
  REQUIRE(valid);
  CHECK(valid->record_count == 1);
}
