// Integration: producer::flush() and close() return only after the delivery
// callbacks of the records they cover have returned.
#include <catch2/catch.hpp>

#include "fixtures.h"

using namespace actormq;
using namespace std::chrono_literals;

TEST_CASE("flush returns only after every callback of the flushed records has run",
          "[app][producer]") {
  test::broker_process broker;
  test::require_started(broker);
  test::create_topic(broker, "flushed", 2);
  client::producer_config pc;
  pc.connection = test::connection_to(broker);
  pc.linger_ms = 0;
  auto prod = client::producer::create(pc);
  REQUIRE(prod);

  // Plain (non-atomic) state written by the callbacks and read right after
  // flush(): flush's own synchronisation must make it visible and complete.
  int called = 0;
  int failed = 0;
  int rounds_short = 0;
  constexpr int rounds = 2000;
  for (int round = 1; round <= rounds; ++round) {
    for (int i = 0; i < 10; ++i) {
      (*prod)->send({"flushed", std::to_string(i), "v", {}, std::nullopt, std::nullopt},
                    [&](const client::delivery_report& r) {
                      ++called;
                      if (r.err) ++failed;
                    });
    }
    REQUIRE((*prod)->flush(30s));
    if (called != round * 10) {
      ++rounds_short;
      called = round * 10;  // count each short round once
    }
  }
  CHECK(rounds_short == 0);
  CHECK(failed == 0);
}

TEST_CASE("close returns only after every callback has run", "[app][producer]") {
  test::broker_process broker;
  test::require_started(broker);
  test::create_topic(broker, "closed", 1);
  for (int round = 0; round < 50; ++round) {
    client::producer_config pc;
    pc.connection = test::connection_to(broker);
    auto prod = client::producer::create(pc);
    REQUIRE(prod);
    auto called = std::make_unique<int>(0);
    for (int i = 0; i < 20; ++i) {
      (*prod)->send({"closed", std::nullopt, "v", {}, std::nullopt, std::nullopt},
                    [p = called.get()](const client::delivery_report&) { ++*p; });
    }
    REQUIRE((*prod)->close(30s));
    CHECK(*called == 20);
  }
}

TEST_CASE("flush called from a delivery callback fails instead of waiting for itself",
          "[app][producer]") {
  test::broker_process broker;
  test::require_started(broker);
  test::create_topic(broker, "reentrant", 1);
  client::producer_config pc;
  pc.connection = test::connection_to(broker);
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  std::promise<client::error> inner;
  auto got = inner.get_future();
  auto* p = prod->get();
  p->send({"reentrant", std::nullopt, "v", {}, std::nullopt, std::nullopt},
          [&inner, p](const client::delivery_report&) {
            auto r = p->flush(5s);
            inner.set_value(r ? client::error{} : r.err());
          });
  REQUIRE((*prod)->flush(30s));
  REQUIRE(got.wait_for(10s) == std::future_status::ready);
  auto err = got.get();
  CHECK(err.value() == client::errc::invalid_argument);
}
