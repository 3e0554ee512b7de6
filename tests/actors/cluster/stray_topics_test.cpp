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
