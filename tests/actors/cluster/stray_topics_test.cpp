// stray_topics: which local topics a broker sets aside because the cluster
// does not have them.
#include <catch2/catch.hpp>

#include "actors/cluster/stray_topics.h"

using actormq::cluster::stray_topics;
using names = std::vector<std::string>;

TEST_CASE("a local topic the cluster has is not stray", "[cluster][stray]") {
  CHECK(stray_topics::find({"orders", "payments"}, {"orders", "payments"}).empty());
}

TEST_CASE("a local topic the cluster does not have is stray", "[cluster][stray]") {
  CHECK(stray_topics::find({"orders", "gone", "payments"}, {"orders", "payments"}) ==
        names{"gone"});
}

TEST_CASE("every local topic is stray when the cluster has none", "[cluster][stray]") {
  CHECK(stray_topics::find({"a", "b"}, {}) == names{"a", "b"});
}

TEST_CASE("internal topics are never stray", "[cluster][stray]") {
  CHECK(stray_topics::find({"__txn", "__schedule"}, {}).empty());
}

TEST_CASE("the retry and dead-letter topics of a cluster topic are not stray", "[cluster][stray]") {
  CHECK(stray_topics::find({"orders.dlq", "orders.billing.retry", "orders.billing.dlq"}, {"orders"})
            .empty());
  // A topic name with dots of its own.
  CHECK(stray_topics::find({"eu.orders.g.retry"}, {"eu.orders"}).empty());
}

TEST_CASE("the retry and dead-letter topics of a stray topic are stray", "[cluster][stray]") {
  CHECK(stray_topics::find({"gone", "gone.dlq", "gone.g.retry"}, {"orders"}) ==
        names{"gone", "gone.dlq", "gone.g.retry"});
}

TEST_CASE("a name that only starts like a cluster topic is stray", "[cluster][stray]") {
  CHECK(stray_topics::find({"orders.archive", "ordersdlq"}, {"orders"}) ==
        names{"orders.archive", "ordersdlq"});
}

TEST_CASE("a cluster topic whose local copy a run alone made is stray", "[cluster][stray]") {
  // A lone broker created __consumer_offsets (and orders) for itself; the
  // cluster has both. The copies here are not replicated: set aside, so the
  // cluster's replicas are created in their place.
  CHECK(stray_topics::find(
            {"__consumer_offsets", "orders", "kept"}, {"__consumer_offsets", "orders", "kept"},
            {"__consumer_offsets", "orders"}) == names{"__consumer_offsets", "orders"});
  // Internal topics the cluster does not place stay, replicated or not.
  CHECK(
      stray_topics::find({"__unresolved_transactions"}, {}, {"__unresolved_transactions"}).empty());
}
