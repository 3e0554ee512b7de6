// The records of __transaction_state: each event kind round-trips, and
// anything malformed decodes as nothing (the loader skips it).
#include <catch2/catch.hpp>

#include "actors/txn/txn_state_record.h"

using namespace actormq;
using namespace actormq::txn;

namespace {

txn_event_record half_event(uint64_t id) {
  txn_event_record e;
  e.type = event_type::half;
  e.id = id;
  e.time_ms = 1700000000000;
  e.half = storage::txn_half{"shop", "orders", 3, 1800000000000, 5000, std::string("\x01\x02", 2)};
  return e;
}

}  // namespace

TEST_CASE("every txn state record kind round-trips", "[txn]") {
  auto h = half_event(make_txn_id(5, 42));
  auto d = decode_txn_record(encode_txn_key(h), encode_txn_value(h));
  REQUIRE(d);
  CHECK(d->type == event_type::half);
  CHECK(d->id == h.id);
  CHECK(d->time_ms == h.time_ms);
  CHECK(d->half.group == "shop");
  CHECK(d->half.topic == "orders");
  CHECK(d->half.partition == 3);
  CHECK(d->half.deliver_at_ms == 1800000000000);
  CHECK(d->half.delay_ms == 5000);
  CHECK(d->half.batch == std::string("\x01\x02", 2));

  txn_event_record dec;
  dec.type = event_type::decision;
  dec.id = 7;
  dec.time_ms = 9;
  dec.decision = storage::txn_decision::rollback;
  auto dd = decode_txn_record(encode_txn_key(dec), encode_txn_value(dec));
  REQUIRE(dd);
  CHECK(dd->decision == storage::txn_decision::rollback);

  txn_event_record chk;
  chk.type = event_type::check;
  chk.id = 7;
  chk.count = 3;
  chk.next_check_ms = 123;
  auto dc = decode_txn_record(encode_txn_key(chk), encode_txn_value(chk));
  REQUIRE(dc);
  CHECK(dc->count == 3);
  CHECK(dc->next_check_ms == 123);

  txn_event_record floor;
  floor.type = event_type::id_floor;
  floor.id = make_txn_id(2, 1000);
  auto df = decode_txn_record(encode_txn_key(floor), encode_txn_value(floor));
  REQUIRE(df);
  CHECK(df->type == event_type::id_floor);
  CHECK(df->id == floor.id);
}

TEST_CASE("a transaction id carries its partition in its top bits", "[txn]") {
  auto id = make_txn_id(7, 12345);
  CHECK(txn_partition_of(id) == 7);
  CHECK(txn_sequence_of(id) == 12345);
  CHECK(txn_partition_of(99) == 0);  // ids of the previous release: partition 0
}

TEST_CASE("malformed txn state records decode as nothing", "[txn]") {
  auto h = half_event(1);
  auto key = encode_txn_key(h);
  auto value = encode_txn_value(h);
  CHECK_FALSE(decode_txn_record(key.substr(0, key.size() - 1), value));    // short key
  CHECK_FALSE(decode_txn_record(key, value.substr(0, value.size() - 1)));  // torn value
  CHECK_FALSE(decode_txn_record(key, value + "x"));                        // bytes left over
  auto v2 = value;
  v2[0] = 2;  // a newer version
  CHECK_FALSE(decode_txn_record(key, v2));
  auto t9 = value;
  t9[1] = 9;  // an unknown event type
  CHECK_FALSE(decode_txn_record(key, t9));
  txn_event_record dec;
  dec.type = event_type::decision;
  dec.decision = static_cast<storage::txn_decision>(7);
  CHECK_FALSE(decode_txn_record(encode_txn_key(dec), encode_txn_value(dec)));
  auto empty_group = half_event(1);
  empty_group.half.group.clear();
  CHECK_FALSE(decode_txn_record(encode_txn_key(empty_group), encode_txn_value(empty_group)));
}

TEST_CASE("a half with the producer's request id round-trips as version 2", "[txn]") {
  auto h = half_event(make_txn_id(1, 7));
  h.request_id = "0123456789abcdef";
  auto value = encode_txn_value(h);
  CHECK(static_cast<uint8_t>(value[0]) == 2);
  auto d = decode_txn_record(encode_txn_key(h), value);
  REQUIRE(d);
  CHECK(d->request_id == "0123456789abcdef");
  CHECK(d->half.batch == h.half.batch);
  // Without one it stays version 1, the format of the first release.
  h.request_id.clear();
  CHECK(static_cast<uint8_t>(encode_txn_value(h)[0]) == 1);
  // Version 2 is for halves only, and its request id is never empty.
  txn_event_record dec;
  dec.type = event_type::decision;
  dec.decision = storage::txn_decision::commit;
  auto v = encode_txn_value(dec);
  v[0] = 2;
  CHECK_FALSE(decode_txn_record(encode_txn_key(dec), v));
  auto empty = half_event(1);
  auto ev = encode_txn_value(empty);
  ev[0] = 2;
  ev += std::string("\0\0", 2);  // a request id of length 0
  CHECK_FALSE(decode_txn_record(encode_txn_key(empty), ev));
}
