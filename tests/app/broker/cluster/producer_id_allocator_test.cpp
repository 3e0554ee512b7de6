// producer_id_allocator against a real etcd: blocks claimed by compare-and-
// swap, shared by several allocators (brokers), and what happens when etcd
// goes away.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>

#include "actors/cluster/cluster_keys.h"
#include "actors/cluster/producer_id_block.h"
#include "actors/errc.h"
#include "app/broker/cluster/producer_id_allocator.h"
#include "app/etcd/etcd_fixture.h"
#include "support/temp_dir.h"

using namespace actormq;
using namespace std::chrono_literals;
using broker::producer_id_allocator;

namespace {

producer_id_allocator::settings settings_for(cluster::broker_id b, int64_t block, int64_t floor = 0,
                                             std::chrono::milliseconds timeout = 5s) {
  producer_id_allocator::settings s;
  s.key = cluster::cluster_keys("pid-test").producer_id_block();
  s.broker = b;
  s.block_size = block;
  s.floor = floor;
  s.claim_timeout = timeout;
  return s;
}

}  // namespace

TEST_CASE("two allocators claiming at once hand out disjoint ids", "[app][cluster][producer-ids]") {
  test::etcd_fixture f;
  auto& timer = f.loop.io.provider->getTimer();
  producer_id_allocator a(*f.client, timer, settings_for(0, 7));
  producer_id_allocator b(*f.client, timer, settings_for(1, 7));
  // Both ask for many ids at once: their claims race on the same key and
  // the loser must retry after the winner's block.
  kj::Vector<kj::Promise<caf::expected<int64_t>>> asks;
  for (int i = 0; i < 60; ++i) {
    asks.add(a.next());
    asks.add(b.next());
  }
  auto ids = f.wait(kj::joinPromises(asks.releaseAsArray()));
  std::set<int64_t> seen;
  for (auto& id : ids) {
    REQUIRE(id);
    CHECK(*id >= 0);
    CHECK(seen.insert(*id).second);
  }
  CHECK(seen.size() == 120);
  // The key holds the latest block: every id handed out lies below its end.
  auto kv = f.wait(f.client->get(settings_for(0, 7).key));
  REQUIRE(kv);
  REQUIRE(kv->kvs.size() == 1);
  auto latest = cluster::producer_id_block::decode(kv->kvs[0].value);
  REQUIRE(latest);
  CHECK(*seen.rbegin() <= latest->last);
}

TEST_CASE("a new allocator for a restarted broker never reuses an id",
          "[app][cluster][producer-ids]") {
  test::etcd_fixture f;
  auto& timer = f.loop.io.provider->getTimer();
  std::set<int64_t> before;
  {
    producer_id_allocator first(*f.client, timer, settings_for(0, 10));
    for (int i = 0; i < 3; ++i) before.insert(*f.wait(first.next()));
    CHECK(first.remaining() == 7);
  }
  producer_id_allocator again(*f.client, timer, settings_for(0, 10));
  for (int i = 0; i < 15; ++i) {
    auto id = f.wait(again.next());
    REQUIRE(id);
    CHECK(*id > *before.rbegin());
  }
}

TEST_CASE("the first block starts at the floor of the local producer_ids file",
          "[app][cluster][producer-ids]") {
  test::temp_dir data("actormq-pid");
  std::ofstream(data.path() / "producer_ids") << "5000";
  CHECK(producer_id_allocator::local_floor(data.path()) == 5000);
  test::temp_dir empty("actormq-pid");
  CHECK(producer_id_allocator::local_floor(empty.path()) == 0);

  test::etcd_fixture f;
  producer_id_allocator a(*f.client, f.loop.io.provider->getTimer(),
                          settings_for(0, 10, producer_id_allocator::local_floor(data.path())));
  auto id = f.wait(a.next());
  REQUIRE(id);
  CHECK(*id == 5000);
}

TEST_CASE("with etcd down the current block is still handed out, then clusterUnavailable",
          "[app][cluster][producer-ids]") {
  test::etcd_fixture f;
  producer_id_allocator a(*f.client, f.loop.io.provider->getTimer(), settings_for(0, 5));
  auto first = f.wait(a.next());
  REQUIRE(first);
  f.etcd.stop();
  for (int i = 1; i < 5; ++i) {
    auto id = f.wait(a.next());
    REQUIRE(id);
    CHECK(*id == *first + i);
  }
  auto refused = f.wait(a.next());
  REQUIRE_FALSE(refused);
  CHECK(code_of(refused.error()) == errc::cluster_unavailable);
  // Back, the next claim succeeds after the old block.
  REQUIRE(f.etcd.restart());
  caf::expected<int64_t> later = make_error(errc::internal, "not asked yet");
  REQUIRE(f.loop.run_until(
      [&] {
        later = f.wait(a.next());
        return static_cast<bool>(later);
      },
      20s));
  CHECK(*later > *first + 4);
}

TEST_CASE("a claim against a frozen etcd ends with clusterUnavailable at the claim timeout",
          "[app][cluster][producer-ids]") {
  // The client's own bound (5 s) is longer: the allocator's bound ends it.
  test::etcd_fixture f;
  producer_id_allocator a(*f.client, f.loop.io.provider->getTimer(), settings_for(0, 5, 0, 1500ms));
  f.etcd.pause();
  auto [refused, took] = test::timed([&] { return f.wait(a.next()); });
  f.etcd.resume();
  REQUIRE_FALSE(refused);
  CHECK(code_of(refused.error()) == errc::cluster_unavailable);
  // Well before the client's 5 s: the claim's own bound ended it. (KJ's
  // timer counts from the loop's last wake-up, so it may end a bit early.)
  CHECK(took <= 1500ms + 1000ms);
}

TEST_CASE("a malformed block in etcd is refused and not overwritten",
          "[app][cluster][producer-ids]") {
  test::etcd_fixture f;
  auto key = settings_for(0, 10).key;
  REQUIRE(f.wait(f.client->put(key, "first = nine")));
  producer_id_allocator a(*f.client, f.loop.io.provider->getTimer(), settings_for(0, 10));
  auto r = f.wait(a.next());
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == errc::internal);
  auto kv = f.wait(f.client->get(key));
  REQUIRE(kv);
  REQUIRE(kv->kvs.size() == 1);
  CHECK(kv->kvs[0].value == "first = nine");
}
