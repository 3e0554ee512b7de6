// PARTITION actor: fetch and the long-poll wait (wait_atom).

#include <catch2/catch.hpp>

#include "support/actor_fixture.h"
#include "support/temp_dir.h"

using namespace actormq;
using namespace actormq::test;
using namespace std::chrono_literals;

TEST_CASE("a wait parked at the end of the log wakes on the next append",
          "[actors][partition][fetch]") {
  temp_dir dir;
  partition_env env;
  auto p = env.spawn(dir.path() / "p0");
  caf::scoped_actor self{env.sys()};
  caf::scoped_actor waiter{env.sys()};

  REQUIRE(ask<produce_reply>(self, p, produce_atom::value, make_produce({"first"})));

  // Park at offset 1 (the end) with a wait far longer than the test; the
  // partition sees the wait before the produce, both sent from this thread.
  const auto long_wait = caf::timespan(std::chrono::seconds(60));
  auto parked = waiter->request(p, request_timeout, wait_atom::value, int64_t{1}, long_wait);
  auto r = ask<produce_reply>(self, p, produce_atom::value, make_produce({"second", "third"}));
  REQUIRE(r);
  CHECK(r->base_offset == 1);
  CHECK(r->last_offset == 2);

  std::optional<bool> woke;
  parked.receive([&](bool has_data) { woke = has_data; },
                 [&](caf::error& e) { FAIL("wait failed: " << text_of(e)); });
  REQUIRE(woke);
  CHECK(*woke);

  // The fetch the consumer makes next returns the new batch.
  auto f = ask<fetch_reply>(self, p, fetch_atom::value, fetch_request{1, 1 << 20});
  REQUIRE(f);
  CHECK(f->high_watermark == 3);
  CHECK(f->log_start_offset == 0);
  CHECK(records_of(f->slice) ==
        std::vector<record>{{1, std::nullopt, "second"}, {2, std::nullopt, "third"}});

  // A wait below the end answers true at once.
  auto now = ask<bool>(self, p, wait_atom::value, int64_t{0}, long_wait);
  REQUIRE(now);
  CHECK(*now);
}

TEST_CASE("a wait with no new data answers false after its max wait",
          "[actors][partition][fetch]") {
  temp_dir dir;
  partition_env env;
  auto p = env.spawn(dir.path() / "p0");
  caf::scoped_actor self{env.sys()};
  REQUIRE(ask<produce_reply>(self, p, produce_atom::value, make_produce({"only"})));

  const auto max_wait = std::chrono::milliseconds(200);
  auto start = std::chrono::steady_clock::now();
  auto r = ask<bool>(self, p, wait_atom::value, int64_t{1}, caf::timespan(max_wait));
  auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE(r);
  CHECK_FALSE(*r);
  CHECK(elapsed >= max_wait);
  CHECK(elapsed < max_wait + std::chrono::seconds(5));

  // A zero wait answers at once.
  auto zero = ask<bool>(self, p, wait_atom::value, int64_t{1}, caf::timespan(0));
  REQUIRE(zero);
  CHECK_FALSE(*zero);

  // An empty fetch at the end, offset_out_of_range past it; the log is unchanged.
  auto at_end = ask<fetch_reply>(self, p, fetch_atom::value, fetch_request{1, 1 << 20});
  REQUIRE(at_end);
  CHECK(at_end->slice.length == 0);
  CHECK(at_end->high_watermark == 1);
  auto past = ask<fetch_reply>(self, p, fetch_atom::value, fetch_request{5, 1 << 20});
  CHECK(code_of(past) == errc::offset_out_of_range);
  CHECK(read_partition(self, p) == std::vector<record>{{0, std::nullopt, "only"}});
}

TEST_CASE("waits with different max waits each answer false at their own deadline",
          "[actors][partition][fetch]") {
  temp_dir dir;
  partition_env env;
  auto p = env.spawn(dir.path() / "p0");
  caf::scoped_actor self{env.sys()};
  caf::scoped_actor long_waiter{env.sys()};
  caf::scoped_actor short_waiter{env.sys()};
  REQUIRE(ask<produce_reply>(self, p, produce_atom::value, make_produce({"only"})));

  // One timer serves all parked waits: a later, shorter wait must move it
  // earlier, and the longer one must still get its own answer afterwards.
  auto start = std::chrono::steady_clock::now();
  auto long_wait = long_waiter->request(p, request_timeout, wait_atom::value, int64_t{1},
                                        caf::timespan(std::chrono::milliseconds(1500)));
  auto short_wait = short_waiter->request(p, request_timeout, wait_atom::value, int64_t{1},
                                          caf::timespan(std::chrono::milliseconds(200)));
  std::optional<bool> short_result;
  short_wait.receive([&](bool b) { short_result = b; },
                     [&](caf::error& e) { FAIL("short wait failed: " << text_of(e)); });
  auto short_elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE(short_result);
  CHECK_FALSE(*short_result);
  CHECK(short_elapsed >= 200ms);
  CHECK(short_elapsed < 1200ms);  // not held until the long wait's deadline

  std::optional<bool> long_result;
  long_wait.receive([&](bool b) { long_result = b; },
                    [&](caf::error& e) { FAIL("long wait failed: " << text_of(e)); });
  auto long_elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE(long_result);
  CHECK_FALSE(*long_result);
  CHECK(long_elapsed >= 1500ms);
  CHECK(long_elapsed < 1500ms + std::chrono::seconds(5));
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
