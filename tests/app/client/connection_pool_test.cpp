// Unit: the per-broker session pool's bookkeeping, time advanced by hand.
#include <catch2/catch.hpp>

#include <memory>

#include "app/client/src/connection_pool.h"

using actormq::client::detail::connection_pool;
using namespace std::chrono_literals;

namespace {
using clock_type = std::chrono::steady_clock;
const clock_type::time_point t0{};
}  // namespace

TEST_CASE("the pool opens nothing by itself: a miss is for the owner to fill", "[client][pool]") {
  connection_pool<std::unique_ptr<int>> pool;
  CHECK(pool.find("a:1", t0) == nullptr);
  pool.insert("a:1", std::make_unique<int>(1), t0);
  REQUIRE(pool.find("a:1", t0) != nullptr);
  CHECK(**pool.find("a:1", t0) == 1);
  CHECK(pool.size() == 1);
}

TEST_CASE("the pool hands back sessions idle for the max idle time", "[client][pool]") {
  connection_pool<std::unique_ptr<int>> pool;
  pool.insert("a:1", std::make_unique<int>(1), t0);
  pool.insert("b:2", std::make_unique<int>(2), t0);
  (void)pool.find("b:2", t0 + 50s);  // b is used again
  auto idle = pool.take_idle(t0 + 60s, 60s);
  REQUIRE(idle.size() == 1);
  CHECK(*idle[0] == 1);
  CHECK_FALSE(pool.contains("a:1"));
  CHECK(pool.contains("b:2"));
  CHECK(pool.take_idle(t0 + 100s, 60s).empty());
  CHECK(pool.take_idle(t0 + 110s, 60s).size() == 1);
}

TEST_CASE("peeking at a session does not count as using it", "[client][pool]") {
  connection_pool<std::unique_ptr<int>> pool;
  pool.insert("a:1", std::make_unique<int>(1), t0);
  CHECK(pool.peek("a:1") != nullptr);
  CHECK(pool.take_idle(t0 + 10s, 10s).size() == 1);
}

TEST_CASE("a dead session is erased and handed back for later destruction", "[client][pool]") {
  connection_pool<std::unique_ptr<int>> pool;
  pool.insert("a:1", std::make_unique<int>(1), t0);
  auto dead = pool.erase("a:1");
  REQUIRE(dead.size() == 1);
  CHECK(pool.size() == 0);
  CHECK(pool.erase("a:1").empty());
}
