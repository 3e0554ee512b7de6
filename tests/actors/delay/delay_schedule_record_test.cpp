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
    v[0] = 3;
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

TEST_CASE("an envelope keeps its delay class, and one of an earlier release reads as unknown",
          "[delay]") {
  const auto key = encode_key(schedule_kind::envelope);
  envelope_record e{1800000000000, "orders", 3, "batch", level_class(3)};
  auto v2 = encode_value(e);
  CHECK(static_cast<uint8_t>(v2[0]) == 2);
  auto d = decode_schedule_record(key, v2);
  REQUIRE(d);
  CHECK(d->envelope.cls == level_class(3));
  CHECK(class_label(d->envelope.cls) == "3");
  for (auto c : {delay_class::retry, delay_class::deliver_at}) {
    e.cls = c;
    auto dc = decode_schedule_record(key, encode_value(e));
    REQUIRE(dc);
    CHECK(dc->envelope.cls == c);
  }

  // Version 1 (earlier releases): the same fields without the class byte.
  auto v1 = v2.substr(0, v2.size() - 1);
  v1[0] = 1;
  auto old = decode_schedule_record(key, v1);
  REQUIRE(old);
  CHECK(old->envelope.cls == delay_class::unknown);
  CHECK(old->envelope.batch == "batch");
  CHECK(class_label(old->envelope.cls) == "unknown");

  // Version 2 without its class byte, version 1 with one, version 3: refused.
  auto short2 = v1;
  short2[0] = 2;
  CHECK_FALSE(decode_schedule_record(key, short2));
  auto long1 = v2;
  long1[0] = 1;
  CHECK_FALSE(decode_schedule_record(key, long1));
  auto v3 = v2;
  v3[0] = 3;
  CHECK_FALSE(decode_schedule_record(key, v3));
}

TEST_CASE(
    "a dispatch entry keeps its envelope's class and records, unknown in an earlier release's",
    "[delay]") {
  const auto key = encode_key(schedule_kind::dispatch);
  dispatch_record d;
  d.number = 7;
  d.targets.push_back(
      {"orders", 1, 10, 5, {{3, 1000, level_class(2), 4}, {4, 1001, delay_class::retry, 1}}});
  auto v2 = encode_value(d);
  CHECK(static_cast<uint8_t>(v2[0]) == 2);
  auto back = decode_schedule_record(key, v2);
  REQUIRE(back);
  const auto& es = back->dispatch.targets[0].entries;
  REQUIRE(es.size() == 2);
  CHECK(es[0].cls == level_class(2));
  CHECK(es[0].records == 4);
  CHECK(es[1].cls == delay_class::retry);
  CHECK(es[1].records == 1);

  // Version 1: each entry is offset and due only (16 bytes, not 21).
  const size_t head = 8 + 2 + 2 + 6 + 4 + 4 + 4 + 4;  // number .. the entry count of "orders"
  std::string v1 = std::string(1, '\x01') + v2.substr(1, head) + v2.substr(1 + head, 16) +
                   v2.substr(1 + head + 21, 16);
  auto old = decode_schedule_record(key, v1);
  REQUIRE(old);
  const auto& oes = old->dispatch.targets[0].entries;
  REQUIRE(oes.size() == 2);
  CHECK(oes[1].offset == 4);
  CHECK(oes[1].due_ms == 1001);
  CHECK(oes[1].cls == delay_class::unknown);
  CHECK(oes[1].records == 0);
}

TEST_CASE("delay classes name levels, retries and deliver-at times", "[delay]") {
  CHECK(level_class(1) == static_cast<delay_class>(1));
  CHECK(level_class(18) == static_cast<delay_class>(18));
  CHECK(level_class(0) == delay_class::deliver_at);
  CHECK(level_class(max_class_level + 1) == delay_class::deliver_at);
  CHECK(level_of(level_class(7)) == 7u);
  CHECK_FALSE(level_of(delay_class::retry));
  CHECK_FALSE(level_of(delay_class::unknown));
  const auto& levels = delay_levels::message_defaults();
  CHECK(class_of_delay(levels, std::chrono::seconds(10)) == level_class(3));
  CHECK(class_of_delay(levels, std::chrono::hours(2)) == level_class(18));
  CHECK(class_of_delay(levels, std::chrono::seconds(11)) == delay_class::deliver_at);
  CHECK(class_label(delay_class::retry) == "retry");
  CHECK(class_label(delay_class::deliver_at) == "at");
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
