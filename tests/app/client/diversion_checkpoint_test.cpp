// diversion_checkpoint: the state record of a backlog diversion
// (app/client/src/diversion_checkpoint.h).
#include <catch2/catch.hpp>

#include "app/client/src/diversion_checkpoint.h"

using actormq::client::detail::diversion_checkpoint;

namespace {
diversion_checkpoint sample() {
  diversion_checkpoint c;
  c.topic = "orders";
  c.group = "billing";
  c.drain_group = "billing.drain";
  c.temp = "orders.backlog";
  c.partitions = 4;
  c.started_ms = 1764800000000;
  c.ranges = {{0, {100, 5000}}, {1, {80, 80}}};
  c.next = {{0, 2300}, {1, 80}};
  c.temp_end = {{0, 120}, {1, 97}, {2, 0}, {3, 5}};
  return c;
}
}  // namespace

TEST_CASE("a diversion checkpoint round trips and counts its backlog and progress") {
  auto c = sample();
  auto d = diversion_checkpoint::decode(c.encode());
  REQUIRE(d);
  CHECK(d->encode() == c.encode());
  CHECK(d->topic == "orders");
  CHECK(d->drain_group == "billing.drain");
  CHECK(d->partitions == 4);
  CHECK(d->ranges.at(0).from == 100);
  CHECK(d->ranges.at(0).end == 5000);
  CHECK(d->next.at(0) == 2300);
  CHECK(d->temp_end.at(3) == 5);
  CHECK(d->backlog() == 4900);
  CHECK(d->moved() == 2200);
}

TEST_CASE("a diversion checkpoint that is cut or malformed is refused") {
  auto text = sample().encode();
  CHECK_FALSE(diversion_checkpoint::decode(""));
  CHECK_FALSE(diversion_checkpoint::decode(text.substr(0, text.find("group="))));
  auto bad = [&](const std::string& from, const std::string& to) {
    auto t = text;
    t.replace(t.find(from), from.size(), to);
    return diversion_checkpoint::decode(t);
  };
  CHECK_FALSE(bad("version=1", "version=2"));
  CHECK_FALSE(bad("range=0:100:5000", "range=0:5000:100"));  // end before start
  CHECK_FALSE(bad("next=0:2300", "next=0:-4"));
  CHECK_FALSE(bad("next=0:2300", "next=0:23x0"));
  CHECK_FALSE(bad("partitions=4", "partitions=0"));
  CHECK_FALSE(bad("temp_end=0:120", "temp_end=0"));
}
