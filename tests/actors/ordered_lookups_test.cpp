// ordered_lookups: calls made while a lookup is in flight wait for it and
// run in the order they were made.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "actors/errc.h"
#include "actors/ordered_lookups.h"

using namespace actormq;

namespace {

using lookups = ordered_lookups<int>;

/// A continuation that records its name and the value it was answered with.
lookups::continuation note_call(std::vector<std::string>& log, std::string name) {
  return [&log, name](caf::expected<int> r) {
    log.push_back(name + "=" + (r ? std::to_string(*r) : std::string("error")));
  };
}

}  // namespace

TEST_CASE("calls made while a lookup is in flight run after it, in call order",
          "[actors][ordered_lookups]") {
  lookups l;
  std::vector<std::string> log;
  auto k = note_call(log, "a");
  REQUIRE_FALSE(l.join("t", k));  // nothing in flight: the caller looks up
  l.start("t", std::move(k));
  CHECK(l.in_flight() == 1);
  for (const char* name : {"b", "c", "d"}) {
    auto ki = note_call(log, name);
    REQUIRE(l.join("t", ki));
  }
  // Another key is not held behind it.
  auto other = note_call(log, "x");
  CHECK_FALSE(l.join("u", other));
  CHECK(log.empty());

  l.settle("t", 7);
  CHECK(log == std::vector<std::string>{"a=7", "b=7", "c=7", "d=7"});
  CHECK(l.in_flight() == 0);
  // Ended: the next call looks up (or uses its cache) itself.
  auto late = note_call(log, "e");
  CHECK_FALSE(l.join("t", late));
}

TEST_CASE("a failed lookup answers every waiter with its error", "[actors][ordered_lookups]") {
  lookups l;
  std::vector<std::string> log;
  l.start("t", note_call(log, "a"));
  auto k = note_call(log, "b");
  REQUIRE(l.join("t", k));
  l.settle("t", make_error(errc::unknown_topic, "unknown topic t"));
  CHECK(log == std::vector<std::string>{"a=error", "b=error"});
}

TEST_CASE("a waiter that starts a new lookup holds the calls made after it, not the earlier ones",
          "[actors][ordered_lookups]") {
  lookups l;
  std::vector<std::string> log;
  l.start("t", [&](caf::expected<int> r) {
    log.push_back("a=" + std::to_string(*r));
    // a needs more than it got (say a partition the handle lacks): it
    // looks up again.
    l.start("t", note_call(log, "a-again"));
    auto later = note_call(log, "later");
    REQUIRE(l.join("t", later));
  });
  auto b = note_call(log, "b");
  REQUIRE(l.join("t", b));
  l.settle("t", 1);
  // b was made before a's second lookup: it does not wait for it.
  CHECK(log == std::vector<std::string>{"a=1", "b=1"});
  l.settle("t", 2);
  CHECK(log == std::vector<std::string>{"a=1", "b=1", "a-again=2", "later=2"});
}

TEST_CASE("settling a key with no lookup in flight does nothing", "[actors][ordered_lookups]") {
  lookups l;
  l.settle("t", 1);
  CHECK(l.in_flight() == 0);
}
