// PARTITION actor: fetch, the long poll (wait_atom) and unpark_atom.

#include <catch2/catch.hpp>

#include "support/actor_fixture.h"
#include "support/temp_dir.h"

using namespace actormq;
using namespace actormq::test;
using namespace std::chrono_literals;

TEST_CASE("parked fetches with different max waits each answer at their own deadline",
          "[actors][partition][fetch]") {
  temp_dir dir;
  partition_env env;
  auto p = env.spawn(dir.path() / "p0");
  caf::scoped_actor self{env.sys()};
  caf::scoped_actor long_waiter{env.sys()};
  caf::scoped_actor short_waiter{env.sys()};
  REQUIRE(ask<produce_reply>(self, p, produce_atom::value, make_produce({"only"})));

  // One timer serves all parked fetches: a later, shorter wait must move it
  // earlier, and the longer one must still get its own answer afterwards.
  auto start = std::chrono::steady_clock::now();
  auto long_wait = long_waiter->request(p, request_timeout, wait_atom::value,
                                        fetch_request{1, 1 << 20}, caf::timespan(1500ms));
  auto short_wait = short_waiter->request(p, request_timeout, wait_atom::value,
                                          fetch_request{1, 1 << 20}, caf::timespan(200ms));
  std::optional<fetch_reply> short_result;
  short_wait.receive([&](fetch_reply& r) { short_result = std::move(r); },
                     [&](caf::error& e) { FAIL("short wait failed: " << text_of(e)); });
  auto short_elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE(short_result);
  CHECK(short_result->slice.length == 0);
  CHECK(short_elapsed >= 200ms);
  CHECK(short_elapsed < 1200ms);  // not held until the long wait's deadline

  std::optional<fetch_reply> long_result;
  long_wait.receive([&](fetch_reply& r) { long_result = std::move(r); },
                    [&](caf::error& e) { FAIL("long wait failed: " << text_of(e)); });
  auto long_elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE(long_result);
  CHECK(long_result->slice.length == 0);
  CHECK(long_elapsed >= 1500ms);
  CHECK(long_elapsed < 1500ms + std::chrono::seconds(5));
}

TEST_CASE("unpark answers at once only the parked fetches of its token",
          "[actors][partition][fetch]") {
  temp_dir dir;
  partition_env env;
  auto p = env.spawn(dir.path() / "p0");
  caf::scoped_actor self{env.sys()};
  caf::scoped_actor unparked{env.sys()};
  caf::scoped_actor other{env.sys()};
  REQUIRE(ask<produce_reply>(self, p, produce_atom::value, make_produce({"only"})));

  // Two long polls at the end, tokens 7 and 8, each far longer than the test.
  fetch_request seven{1, 1 << 20};
  seven.park_token = 7;
  fetch_request eight{1, 1 << 20};
  eight.park_token = 8;
  const auto long_wait = caf::timespan(std::chrono::seconds(60));
  auto start = std::chrono::steady_clock::now();
  auto a = unparked->request(p, request_timeout, wait_atom::value, seven, long_wait);
  auto b = other->request(p, request_timeout, wait_atom::value, eight, long_wait);
  // A token nobody parked with changes nothing; 7 answers with what is there.
  caf::anon_send(p, unpark_atom::value, uint64_t{99});
  caf::anon_send(p, unpark_atom::value, uint64_t{7});
  std::optional<fetch_reply> got_a;
  a.receive([&](fetch_reply& r) { got_a = std::move(r); },
            [&](caf::error& e) { FAIL("unparked fetch failed: " << text_of(e)); });
  REQUIRE(got_a);
  CHECK(got_a->slice.length == 0);
  CHECK(got_a->high_watermark == 1);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));

  // Token 8 is still parked: the next append answers it with the new batch.
  auto seen = ask<actor_report>(self, p, inspect_atom::value);
  REQUIRE(seen);
  CHECK(seen->state_json.find("\"parked_fetches\":1") != std::string::npos);
  REQUIRE(ask<produce_reply>(self, p, produce_atom::value, make_produce({"next"})));
  std::optional<fetch_reply> got_b;
  b.receive([&](fetch_reply& r) { got_b = std::move(r); },
            [&](caf::error& e) { FAIL("parked fetch failed: " << text_of(e)); });
  REQUIRE(got_b);
  CHECK(records_of(got_b->slice) == std::vector<record>{{1, std::nullopt, "next"}});
}

TEST_CASE("a parked fetch at the end of the log answers with the batches appended next",
          "[actors][partition][fetch]") {
  temp_dir dir;
  partition_env env;
  auto p = env.spawn(dir.path() / "p0");
  caf::scoped_actor self{env.sys()};
  caf::scoped_actor waiter{env.sys()};
  REQUIRE(ask<produce_reply>(self, p, produce_atom::value, make_produce({"first"})));

  auto parked = waiter->request(p, request_timeout, wait_atom::value, fetch_request{1, 1 << 20},
                                caf::timespan(std::chrono::seconds(60)));
  REQUIRE(ask<produce_reply>(self, p, produce_atom::value, make_produce({"second", "third"})));
  std::optional<fetch_reply> got;
  parked.receive([&](fetch_reply& r) { got = std::move(r); },
                 [&](caf::error& e) { FAIL("parked fetch failed: " << text_of(e)); });
  REQUIRE(got);
  CHECK(got->high_watermark == 3);
  CHECK(records_of(got->slice) ==
        std::vector<record>{{1, std::nullopt, "second"}, {2, std::nullopt, "third"}});

  // Below the end it is a plain fetch, answered at once.
  auto now = ask<fetch_reply>(self, p, wait_atom::value, fetch_request{0, 1 << 20},
                              caf::timespan(std::chrono::seconds(60)));
  REQUIRE(now);
  CHECK(records_of(now->slice).size() == 3);
  // Past the end: offset_out_of_range at once, not a parked wait.
  auto past = ask<fetch_reply>(self, p, wait_atom::value, fetch_request{7, 1 << 20},
                               caf::timespan(std::chrono::seconds(60)));
  REQUIRE_FALSE(past);
  CHECK(code_of(past) == errc::offset_out_of_range);
}

TEST_CASE("a parked fetch with no new data answers an empty slice after its max wait",
          "[actors][partition][fetch]") {
  temp_dir dir;
  partition_env env;
  auto p = env.spawn(dir.path() / "p0");
  caf::scoped_actor self{env.sys()};
  REQUIRE(ask<produce_reply>(self, p, produce_atom::value, make_produce({"only"})));
  auto start = std::chrono::steady_clock::now();
  auto r = ask<fetch_reply>(self, p, wait_atom::value, fetch_request{1, 1 << 20},
                            caf::timespan(std::chrono::milliseconds(200)));
  auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE(r);
  CHECK(r->slice.length == 0);
  CHECK(r->high_watermark == 1);
  CHECK(elapsed >= 200ms);
  CHECK(elapsed < 200ms + std::chrono::seconds(5));
}

TEST_CASE("a parked fetch is answered empty when its partition stops",
          "[actors][partition][fetch]") {
  temp_dir dir;
  partition_env env;
  auto p = env.spawn(dir.path() / "p0");
  caf::scoped_actor self{env.sys()};
  caf::scoped_actor waiter{env.sys()};
  REQUIRE(ask<produce_reply>(self, p, produce_atom::value, make_produce({"only"})));
  auto parked = waiter->request(p, request_timeout, wait_atom::value, fetch_request{1, 1 << 20},
                                caf::timespan(std::chrono::seconds(60)));
  // Let the partition park it before the exit arrives.
  auto seen = ask<partition_offsets>(self, p, offsets_atom::value);
  REQUIRE(seen);
  auto start = std::chrono::steady_clock::now();
  REQUIRE(stop_and_wait(env.sys(), caf::actor_cast<caf::actor>(p)));
  std::optional<fetch_reply> got;
  parked.receive([&](fetch_reply& r) { got = std::move(r); },
                 [&](caf::error& e) { FAIL("parked fetch failed: " << text_of(e)); });
  REQUIRE(got);
  CHECK(got->slice.length == 0);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));  // not the 60 s wait
}
