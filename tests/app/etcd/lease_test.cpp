// Leases: grant, keepalive, expiry, revoke.

#include <catch2/catch.hpp>

#include "etcd_fixture.h"

using namespace actormq::etcd;
using actormq::test::etcd_fixture;

TEST_CASE("lease grant returns an id and the TTL and keepalive refreshes it") {
  etcd_fixture f;
  auto l = f.wait(f.client->lease_grant(std::chrono::seconds(10)));
  REQUIRE(l);
  CHECK(l->id.value() != 0);
  CHECK(l->ttl == std::chrono::seconds(10));
  auto k = f.wait(f.client->lease_keepalive_once(l->id));
  REQUIRE(k);
  CHECK(k->ttl == std::chrono::seconds(10));
}

TEST_CASE("a leased key disappears once its lease expires and keepalive then fails") {
  etcd_fixture f;
  auto l = f.wait(f.client->lease_grant(std::chrono::seconds(2)));
  REQUIRE(l);
  REQUIRE(f.wait(f.client->put("/brokers/1", "alive", l->id)));
  auto g = f.wait(f.client->get("/brokers/1"));
  REQUIRE(g);
  REQUIRE(g->kvs.size() == 1);
  CHECK(g->kvs[0].lease == l->id);

  bool gone = f.loop.run_until(
      [&] {
        auto r = f.wait(f.client->get("/brokers/1"));
        return r && r->kvs.empty();
      },
      std::chrono::seconds(15));
  CHECK(gone);
  auto k = f.wait(f.client->lease_keepalive_once(l->id));
  REQUIRE_FALSE(k);
  CHECK(k.code() == errc::lease_not_found);
}

TEST_CASE("keepalive keeps a leased key past its TTL") {
  etcd_fixture f;
  auto l = f.wait(f.client->lease_grant(std::chrono::seconds(2)));
  REQUIRE(l);
  REQUIRE(f.wait(f.client->put("/brokers/2", "alive", l->id)));
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(4);
  while (std::chrono::steady_clock::now() < until) {
    REQUIRE(f.wait(f.client->lease_keepalive_once(l->id)));
    f.wait(f.loop.io.provider->getTimer().afterDelay(500 * kj::MILLISECONDS));
  }
  auto g = f.wait(f.client->get("/brokers/2"));
  REQUIRE(g);
  CHECK(g->kvs.size() == 1);
}

TEST_CASE("revoke deletes the leased keys and a second revoke fails with lease_not_found") {
  etcd_fixture f;
  auto l = f.wait(f.client->lease_grant(std::chrono::seconds(60)));
  REQUIRE(l);
  REQUIRE(f.wait(f.client->put("/brokers/3", "alive", l->id)));
  REQUIRE(f.wait(f.client->lease_revoke(l->id)));
  auto g = f.wait(f.client->get("/brokers/3"));
  REQUIRE(g);
  CHECK(g->kvs.empty());
  auto again = f.wait(f.client->lease_revoke(l->id));
  REQUIRE_FALSE(again);
  CHECK(again.code() == errc::lease_not_found);
  auto k = f.wait(f.client->lease_keepalive_once(l->id));
  REQUIRE_FALSE(k);
  CHECK(k.code() == errc::lease_not_found);
}

TEST_CASE("a put under an unknown lease fails with lease_not_found") {
  etcd_fixture f;
  auto p = f.wait(f.client->put("k", "v", lease_id{12345}));
  REQUIRE_FALSE(p);
  CHECK(p.code() == errc::lease_not_found);
}
