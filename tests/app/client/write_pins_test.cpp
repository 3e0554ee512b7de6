// Unit: write_pins, the buffers a session keeps while an unanswered
// request's write may still read them. No network: the session's send
// order and answers are played by hand.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "app/client/src/write_pins.h"

using actormq::client::detail::write_pins;

namespace {

std::shared_ptr<const std::string> buffer(const char* s) {
  return std::make_shared<const std::string>(s);
}

}  // namespace

TEST_CASE("an unanswered request's buffer is kept until a request sent after it is answered",
          "[client][write_pins]") {
  write_pins pins;
  auto first = pins.sent();
  auto second = pins.sent();
  REQUIRE(second > first);
  auto buf = buffer("batch");
  std::weak_ptr<const std::string> watch = buf;
  CHECK(pins.keep(first, std::move(buf), 100));  // timed out: its write may be queued
  REQUIRE(pins.size() == 1);
  CHECK_FALSE(watch.expired());
  pins.answered(second);  // written after it: the first write is finished
  CHECK(pins.size() == 0);
  CHECK(watch.expired());
}

TEST_CASE("an answer to an earlier request does not release a later request's buffer",
          "[client][write_pins]") {
  write_pins pins;
  auto early = pins.sent();
  auto late = pins.sent();
  auto buf = buffer("late batch");
  std::weak_ptr<const std::string> watch = buf;
  pins.keep(late, std::move(buf), 100);
  pins.answered(early);  // says nothing about a write queued behind it
  CHECK(pins.size() == 1);
  CHECK_FALSE(watch.expired());
  auto later = pins.sent();
  pins.answered(later);
  CHECK(watch.expired());
}

TEST_CASE("a request that ends after a later one was answered keeps nothing",
          "[client][write_pins]") {
  write_pins pins;
  auto first = pins.sent();
  auto second = pins.sent();
  pins.answered(second);
  auto buf = buffer("batch");
  std::weak_ptr<const std::string> watch = buf;
  CHECK_FALSE(pins.keep(first, std::move(buf), 100));  // its write is known finished already
  CHECK(pins.size() == 0);
  CHECK(watch.expired());
}

TEST_CASE("a request never sent (no number) keeps nothing", "[client][write_pins]") {
  write_pins pins;
  CHECK_FALSE(pins.keep(0, buffer("never sent"), 100));  // timed out while connecting
  CHECK(pins.size() == 0);
}

TEST_CASE("buffers of requests ending out of order go once a later answer covers them",
          "[client][write_pins]") {
  write_pins pins;
  auto a = pins.sent();
  auto b = pins.sent();
  auto c = pins.sent();
  auto d = pins.sent();
  pins.keep(c, buffer("c"), 100);  // timeouts can end in any order
  pins.keep(a, buffer("a"), 100);
  pins.keep(b, buffer("b"), 100);
  REQUIRE(pins.size() == 3);
  CHECK(pins.bytes() == 300);
  pins.answered(b);  // a and b are written; c may not be
  CHECK(pins.size() == 1);
  CHECK(pins.bytes() == 100);
  pins.answered(d);
  CHECK(pins.size() == 0);
  CHECK(pins.bytes() == 0);
}

TEST_CASE("the pins go with the session", "[client][write_pins]") {
  auto buf = buffer("batch");
  std::weak_ptr<const std::string> watch = buf;
  {
    write_pins pins;
    pins.keep(pins.sent(), std::move(buf), 100);
    CHECK_FALSE(watch.expired());
  }
  CHECK(watch.expired());
}
