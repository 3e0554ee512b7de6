// The records of __delay_schedule: each kind round-trips, anything malformed
// decodes as nothing (the replica skips it), and a target's messages always
// go to the same schedule partition.
#include <catch2/catch.hpp>

#include <set>

#include "actors/delay/delay_schedule_record.h"

using namespace actormq;
using namespace actormq::delay;

namespace {

dispatch_record two_targets() {
  dispatch_record d;
  d.number = 41;
  d.targets.push_back({"orders", 2, 100, 3, {{10, 1000}, {12, 1000}}});
  d.targets.push_back({"audit", 0, 7, 1, {{11, 999}}});
  return d;
}

}  // namespace

TEST_CASE("every delay schedule record kind round-trips", "[delay]") {
  envelope_record e{1800000000000, "orders", 3, std::string("\x01\x00\x02", 3)};
  auto de = decode_schedule_record(encode_key(schedule_kind::envelope), encode_value(e));
  REQUIRE(de);
  CHECK(de->kind == schedule_kind::envelope);
  CHECK(de->envelope.due_ms == e.due_ms);
  CHECK(de->envelope.topic == "orders");
  CHECK(de->envelope.partition == 3);
  CHECK(de->envelope.batch == e.batch);

  auto d = two_targets();
  auto dd = decode_schedule_record(encode_key(schedule_kind::dispatch), encode_value(d));
  REQUIRE(dd);
  CHECK(dd->kind == schedule_kind::dispatch);
  CHECK(dd->dispatch.number == 41);
  REQUIRE(dd->dispatch.targets.size() == 2);
  const auto& t = dd->dispatch.targets[0];
  CHECK(t.topic == "orders");
  CHECK(t.partition == 2);
  CHECK(t.first_seq == 100);
  CHECK(t.records == 3);
  REQUIRE(t.entries.size() == 2);
  CHECK(t.entries[1].offset == 12);
  CHECK(t.entries[1].due_ms == 1000);
  CHECK(dd->dispatch.targets[1].entries[0].offset == 11);

  progress_record p{41, 60000};
  auto dp = decode_schedule_record(encode_key(schedule_kind::progress), encode_value(p));
  REQUIRE(dp);
  CHECK(dp->kind == schedule_kind::progress);
  CHECK(dp->progress.completed == 41);
  CHECK(dp->progress.bucket == 60000);

  sequences_record s;
  s.next_dispatch = 42;
  s.completed = 40;
  s.next_seq[{"orders", 2}] = 103;
  s.next_seq[{"audit", 0}] = 8;
  auto ds = decode_schedule_record(encode_key(schedule_kind::sequences), encode_value(s));
  REQUIRE(ds);
  CHECK(ds->kind == schedule_kind::sequences);
  CHECK(ds->sequences.next_dispatch == 42);
  CHECK(ds->sequences.completed == 40);
  CHECK(ds->sequences.next_seq == s.next_seq);
}

TEST_CASE("a malformed delay schedule record decodes as nothing", "[delay]") {
  auto key = encode_key(schedule_kind::dispatch);
  auto value = encode_value(two_targets());
  SECTION("truncated at every length") {
    for (size_t n = 0; n < value.size(); ++n) {
      INFO("length " << n);
      CHECK_FALSE(decode_schedule_record(key, value.substr(0, n)));
    }
  }
  SECTION("a byte too many") {
    CHECK_FALSE(decode_schedule_record(key, value + "x"));
  }
  SECTION("unknown key version or kind") {
    CHECK_FALSE(decode_schedule_record(std::string("\x02\x02", 2), value));
    CHECK_FALSE(decode_schedule_record(std::string("\x01\x09", 2), value));
    CHECK_FALSE(decode_schedule_record(std::string("\x01", 1), value));
  }
  SECTION("unknown value version") {
    auto v = value;
    v[0] = 2;
    CHECK_FALSE(decode_schedule_record(key, v));
  }
  SECTION("an envelope without a topic") {
    envelope_record e{1, "", 0, "b"};
    CHECK_FALSE(decode_schedule_record(encode_key(schedule_kind::envelope), encode_value(e)));
  }
  SECTION("a dispatch without targets or entries") {
    dispatch_record none;
    none.number = 1;
    CHECK_FALSE(decode_schedule_record(key, encode_value(none)));
    dispatch_record empty;
    empty.number = 1;
    empty.targets.push_back({"t", 0, 0, 0, {}});
    CHECK_FALSE(decode_schedule_record(key, encode_value(empty)));
  }
}

TEST_CASE("a target's delayed messages always go to one schedule partition", "[delay]") {
  CHECK(schedule_partition_of("orders", 3, 8) == schedule_partition_of("orders", 3, 8));
  std::set<uint32_t> used;
  for (uint32_t p = 0; p < 64; ++p) {
    auto s = schedule_partition_of("orders", p, 8);
    CHECK(s < 8);
    used.insert(s);
  }
  CHECK(used.size() > 4);  // a topic's partitions spread over the schedule
  CHECK(schedule_partition_of("orders", 0, 0) == 0);
}
