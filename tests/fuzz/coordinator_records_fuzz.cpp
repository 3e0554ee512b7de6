// Harness: every decoder of a coordinator's records, the bytes a broker
// reads back from its internal topics, snapshots and etcd after a crash, a
// bad disk or another release:
//   0 committed offsets (__consumer_offsets key and value)
//   1 transaction events (__transaction_state key and value)
//   2 delay schedule records (__delay_schedule key and value)
//   3 delay envelopes (a record batch holding one envelope)
//   4 retry and dead-letter headers of a record
//   5 a partition's producer-state snapshot (idempotent produce)
//   6 a topic's config, 7 a partition's cluster state, 8 a broker's
//     registration, 9 a producer id block (etcd values)
// Input: the selector byte, then (0..2) two u32-length-prefixed runs, key
// and value; (4) pairs of u32-length-prefixed runs, header key and value;
// (others) the rest of the input.
// Invariants: no decoder crashes or reads past its input; what one accepts
// encodes back into bytes it decodes to the same thing (its encoder and
// decoder agree, so a record rewritten by compaction or a snapshot keeps
// its meaning).

#include <cstdint>
#include <string>

#include "actors/cluster/broker_registration.h"
#include "actors/cluster/partition_state.h"
#include "actors/cluster/producer_id_block.h"
#include "actors/delay/delay_schedule_record.h"
#include "actors/delay/schedule_envelope.h"
#include "actors/group/offset_record.h"
#include "actors/partition/producer_state_table.h"
#include "actors/retry/retry_headers.h"
#include "actors/topic/topic_config.h"
#include "actors/txn/txn_state_record.h"
#include "storage/record_batch.h"
#include "tests/fuzz/fuzz_check.h"

using namespace actormq;
using actormq::fuzz::fuzz_input;

namespace {

void offsets(fuzz_input& in) {
  auto key = in.sized();
  auto value = in.sized();
  if (auto k = group::decode_offset_key(key)) {
    auto again = group::decode_offset_key(group::encode_offset_key(*k));
    FUZZ_CHECK(again && *again == *k);
  }
  if (auto v = group::decode_offset_value(value)) {
    auto again = group::decode_offset_value(group::encode_offset_value(*v));
    FUZZ_CHECK(again && *again == *v);
  }
}

void transactions(fuzz_input& in) {
  auto key = in.sized();
  auto value = in.sized();
  auto e = txn::decode_txn_record(key, value);
  if (!e) return;
  auto k = txn::encode_txn_key(*e), v = txn::encode_txn_value(*e);
  auto again = txn::decode_txn_record(k, v);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(txn::encode_txn_key(*again) == k);
  FUZZ_CHECK(txn::encode_txn_value(*again) == v);
}

template <class Record>
void schedule_round_trip(delay::schedule_kind kind, Record delay::schedule_record::*member,
                         const delay::schedule_record& r) {
  auto k = delay::encode_key(kind);
  auto v = delay::encode_value(r.*member);
  auto again = delay::decode_schedule_record(k, v);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->kind == kind);
  FUZZ_CHECK(delay::encode_value((*again).*member) == v);
}

void schedule(fuzz_input& in) {
  auto key = in.sized();
  auto value = in.sized();
  auto r = delay::decode_schedule_record(key, value);
  if (!r) return;
  switch (r->kind) {
    case delay::schedule_kind::envelope:
      schedule_round_trip(r->kind, &delay::schedule_record::envelope, *r);
      break;
    case delay::schedule_kind::dispatch:
      schedule_round_trip(r->kind, &delay::schedule_record::dispatch, *r);
      break;
    case delay::schedule_kind::progress:
      schedule_round_trip(r->kind, &delay::schedule_record::progress, *r);
      break;
    case delay::schedule_kind::sequences:
      schedule_round_trip(r->kind, &delay::schedule_record::sequences, *r);
      break;
  }
}

void envelope(fuzz_input& in) {
  auto e = delay::schedule_envelope::decode(fuzz::bytes_of(in.rest()));
  if (!e) return;
  auto bytes = e->encode(1);
  auto again = delay::schedule_envelope::decode(fuzz::bytes_of(bytes));
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->topic == e->topic);
  FUZZ_CHECK(again->partition == e->partition);
  FUZZ_CHECK(again->deliver_at_ms == e->deliver_at_ms);
  FUZZ_CHECK(again->batch == e->batch);
}

void retry_headers(fuzz_input& in) {
  storage::record_view r;
  r.record_offset = storage::offset(7);
  while (!in.empty() && r.headers.size() < 64) {
    storage::record_header_view h;
    h.key = in.sized();
    auto value = in.sized();
    if (!value.empty()) h.value = value;
    r.headers.push_back(h);
  }
  auto info = retry::read_delivery_info(r, "topic", 3);
  FUZZ_CHECK(info.delivery_count >= 1);
  FUZZ_CHECK(!info.origin.topic.empty());
}

void producer_state(fuzz_input& in) {
  producer_state_table t;
  std::string bytes(in.rest());
  auto covered = t.decode(bytes);
  if (!covered) return;
  producer_state_table again;
  auto round = again.decode(t.encode(*covered));
  FUZZ_CHECK(round.has_value());
  FUZZ_CHECK(*round == *covered);
  FUZZ_CHECK(again.size() == t.size());
}

template <class T>
void text_value(fuzz_input& in) {
  auto v = T::decode(in.rest());
  if (!v) return;
  auto text = v->encode();
  auto again = T::decode(text);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->encode() == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz_input in(data, size);
  switch (in.byte() % 10) {
    case 0:
      offsets(in);
      break;
    case 1:
      transactions(in);
      break;
    case 2:
      schedule(in);
      break;
    case 3:
      envelope(in);
      break;
    case 4:
      retry_headers(in);
      break;
    case 5:
      producer_state(in);
      break;
    case 6:
      text_value<topic_config>(in);
      break;
    case 7:
      text_value<cluster::partition_state>(in);
      break;
    case 8:
      text_value<cluster::broker_registration>(in);
      break;
    case 9:
      text_value<cluster::producer_id_block>(in);
      break;
  }
  return 0;
}
