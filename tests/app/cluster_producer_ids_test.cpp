// Integration: idempotent producer ids are unique across the brokers of a
// cluster (blocks claimed in etcd, app/broker/cluster/producer_id_allocator.h),
// through the client's init-producer path, and across a broker restart.
#include <catch2/catch.hpp>

#include <mutex>
#include <set>
#include <thread>

#include "cluster_fixtures.h"

using namespace actormq;
using namespace std::chrono_literals;

namespace {

/// Initializes n idempotent producers on one shared connection to b and
/// returns their ids (each init() is one initProducer call), or the first
/// error. No Catch assertions: it runs on several threads.
client::result<std::vector<int64_t>> producer_ids_from(test::broker_process& b, int n) {
  auto conn = client::connection::connect(test::connection_to(b));
  if (!conn) return conn.err();
  std::vector<int64_t> ids;
  for (int i = 0; i < n; ++i) {
    client::producer_config cfg;
    cfg.connection = test::connection_to(b);
    client::producer p(*conn, cfg);
    if (auto r = p.init(); !r) return r.err();
    ids.push_back(p.producer_id());
  }
  return ids;
}

std::vector<int64_t> require_ids_from(test::broker_process& b, int n) {
  auto r = producer_ids_from(b, n);
  INFO(r.err().to_string());
  REQUIRE(r);
  return *r;
}

}  // namespace

TEST_CASE("two brokers hand out disjoint producer ids and a restart reuses none",
          "[app][cluster][producer-ids]") {
  test::cluster_process c;
  // Small blocks: the two brokers claim many blocks each, concurrently.
  c.add_cluster_config("producer_id_block = 10\n");
  (void)test::require_formed(c, 2);

  std::mutex mu;
  std::vector<int64_t> all;
  std::vector<std::string> errors;
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        auto ids = producer_ids_from(c.broker(static_cast<size_t>(t % 2)), 30);
        std::lock_guard lk(mu);
        if (!ids) return errors.push_back(ids.err().to_string());
        all.insert(all.end(), ids->begin(), ids->end());
      });
    }
    for (auto& th : threads) th.join();
  }
  CHECK(errors.empty());
  REQUIRE(all.size() == 120);
  std::set<int64_t> seen(all.begin(), all.end());
  CHECK(seen.size() == all.size());
  CHECK(*seen.begin() >= 0);

  // Killed (no clean shutdown) and restarted, broker 0 claims a new block:
  // none of its ids was handed out before, by it or by broker 1.
  INFO(c.broker(0).error());
  REQUIRE(c.broker(0).restart(true));
  for (auto id : require_ids_from(c.broker(0), 25)) {
    CHECK(seen.insert(id).second);
  }
  for (auto id : require_ids_from(c.broker(1), 5)) {
    CHECK(seen.insert(id).second);
  }
  CHECK(seen.size() == 150);
}
