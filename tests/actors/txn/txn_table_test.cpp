// txn_table: replay rules of one __transaction_state partition, ids that
// are never reused, the finished-transaction bound and the snapshot that
// compaction writes.
#include <catch2/catch.hpp>

#include "actors/txn/txn_table.h"

using namespace actormq;
using namespace actormq::txn;
using storage::txn_decision;

namespace {

txn_event_record half(uint64_t id, const std::string& batch = "b") {
  txn_event_record e;
  e.type = event_type::half;
  e.id = id;
  e.time_ms = 100;
  e.half = storage::txn_half{"g", "t", 0, 0, 0, batch};
  return e;
}

txn_event_record event(event_type t, uint64_t id, txn_decision d = txn_decision::none) {
  txn_event_record e;
  e.type = t;
  e.id = id;
  e.time_ms = 200;
  e.decision = d;
  e.count = 2;
  e.next_check_ms = 300;
  return e;
}

}  // namespace

TEST_CASE("txn table ids start at its partition and never repeat", "[txn]") {
  txn_table t(3, 100);
  auto first = t.next_id();
  CHECK(txn_partition_of(first) == 3);
  CHECK(t.apply(half(first)));
  CHECK(t.next_id() > first);
  CHECK_FALSE(t.apply(half(first)));  // a second half of one id is ignored
  txn_event_record floor;
  floor.type = event_type::id_floor;
  floor.id = make_txn_id(3, 500);
  t.apply(floor);
  CHECK(t.next_id() == make_txn_id(3, 500));
}

TEST_CASE("txn table keeps the first decision and needs one for applied", "[txn]") {
  txn_table t(0, 100);
  auto id = t.next_id();
  t.apply(half(id));
  CHECK_FALSE(t.apply(event(event_type::applied, id)));  // no decision yet
  CHECK(t.apply(event(event_type::check, id)));
  CHECK(t.find(id)->checks == 2);
  CHECK(t.apply(event(event_type::decision, id, txn_decision::commit)));
  CHECK_FALSE(t.apply(event(event_type::decision, id, txn_decision::rollback)));
  CHECK(t.find(id)->decision == txn_decision::commit);
  CHECK(t.unfinished() == 1);
  CHECK(t.apply(event(event_type::applied, id)));
  CHECK(t.unfinished() == 0);
  CHECK(t.find(id)->half.batch.empty());                // finished: the batch is dropped
  CHECK_FALSE(t.apply(event(event_type::check, 999)));  // unknown id
}

TEST_CASE("txn table forgets the oldest finished transactions beyond its bound", "[txn]") {
  txn_table t(0, 2);
  std::vector<uint64_t> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(t.next_id());
    t.apply(half(ids.back()));
    t.apply(event(event_type::decision, ids.back(), txn_decision::rollback));
  }
  CHECK(t.find(ids[0]) == nullptr);
  CHECK(t.find(ids[1]) == nullptr);
  CHECK(t.find(ids[3]) != nullptr);
}

TEST_CASE("a half whose write failed is dropped from the txn table", "[txn]") {
  txn_table t(0, 10);
  auto id = t.next_id();
  t.apply(half(id));
  t.drop(id);
  CHECK(t.find(id) == nullptr);
  CHECK(t.unfinished() == 0);
  CHECK(t.next_id() > id);  // its id is still never handed out again
}

TEST_CASE("replaying a txn table's snapshot rebuilds it", "[txn]") {
  txn_table t(1, 100);
  auto open = t.next_id();
  t.apply(half(open, "open-batch"));
  t.apply(event(event_type::check, open));
  auto decided = t.next_id();
  t.apply(half(decided));
  t.apply(event(event_type::decision, decided, txn_decision::commit));
  auto done = t.next_id();
  t.apply(half(done));
  t.apply(event(event_type::decision, done, txn_decision::rollback));

  auto snap = t.snapshot(1000);
  CHECK(snap.size() == t.live_records());
  txn_table u(1, 100);
  for (const auto& e : snap) {
    // Through the codec, as compaction writes it.
    auto d = decode_txn_record(encode_txn_key(e), encode_txn_value(e));
    REQUIRE(d);
    u.apply(*d);
  }
  REQUIRE(u.find(open));
  CHECK(u.find(open)->half.batch == "open-batch");
  CHECK(u.find(open)->checks == 2);
  CHECK(u.find(open)->next_check() == 300);
  CHECK(u.find(decided)->decision == txn_decision::commit);
  CHECK_FALSE(u.find(decided)->applied);
  CHECK(u.find(done)->decision == txn_decision::rollback);
  CHECK(u.unfinished() == t.unfinished());
  CHECK(u.next_id() == t.next_id());
}

TEST_CASE("txn table finds a half by its producer group and request id", "[txn]") {
  txn_table t(0, 1);
  auto first = t.next_id();
  auto h = half(first);
  h.request_id = "r1";
  t.apply(h);
  CHECK(t.find_request("g", "r1") == first);
  CHECK_FALSE(t.find_request("other-group", "r1"));
  CHECK_FALSE(t.find_request("g", "r2"));
  // A snapshot keeps it (compaction must not lose the dedupe).
  txn_table u(0, 1);
  for (const auto& e : t.snapshot(1)) {
    auto d = decode_txn_record(encode_txn_key(e), encode_txn_value(e));
    REQUIRE(d);
    u.apply(*d);
  }
  CHECK(u.find_request("g", "r1") == first);
  // Forgotten with its transaction (finished beyond the bound, or dropped).
  t.apply(event(event_type::decision, first, txn_decision::rollback));
  auto second = t.next_id();
  auto h2 = half(second);
  h2.request_id = "r2";
  t.apply(h2);
  t.apply(event(event_type::decision, second, txn_decision::rollback));
  CHECK_FALSE(t.find_request("g", "r1"));  // evicted: keep_finished is 1
  CHECK(t.find_request("g", "r2") == second);
  auto third = t.next_id();
  auto h3 = half(third);
  h3.request_id = "r3";
  t.apply(h3);
  t.drop(third);
  CHECK_FALSE(t.find_request("g", "r3"));
}
