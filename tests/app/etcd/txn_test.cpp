// txn: compares on value, version, create/mod revision and lease; both branches.

#include <catch2/catch.hpp>

#include "etcd_fixture.h"

using namespace actormq::etcd;
using actormq::test::etcd_fixture;

TEST_CASE("txn create-if-absent succeeds once and then runs the failure branch") {
  etcd_fixture f;
  auto create = [&] {
    return f.wait(
        f.client->txn({compare::absent("/controller")},
                      {txn_op::put("/controller", "broker-1"), txn_op::get("/controller")},
                      {txn_op::get("/controller")}));
  };
  auto first = create();
  REQUIRE(first);
  CHECK(first->succeeded);
  REQUIRE(first->responses.size() == 2);
  CHECK(first->responses[0].what == txn_op::kind::put);
  CHECK(first->responses[1].what == txn_op::kind::range);
  REQUIRE(first->responses[1].range.kvs.size() == 1);
  CHECK(first->responses[1].range.kvs[0].value == "broker-1");

  REQUIRE(f.wait(f.client->put("/controller", "broker-2")));
  auto second = create();
  REQUIRE(second);
  CHECK_FALSE(second->succeeded);
  REQUIRE(second->responses.size() == 1);
  CHECK(second->responses[0].what == txn_op::kind::range);
  REQUIRE(second->responses[0].range.kvs.size() == 1);
  CHECK(second->responses[0].range.kvs[0].value == "broker-2");
  CHECK(second->header_revision.value() > first->header_revision.value());
}

TEST_CASE("a fenced write succeeds while the fence key keeps its create_revision") {
  etcd_fixture f;
  auto leader = f.wait(f.client->put("/election/leader", "me"));
  REQUIRE(leader);
  auto mine = leader->header_revision;  // create_revision of the leader key
  auto fenced = [&](std::string value) {
    return f.wait(
        f.client->txn({compare::create_revision_is("/election/leader", compare::op::equal, mine)},
                      {txn_op::put("/partitions/0", std::move(value))}, {}));
  };
  auto ok = fenced("epoch-1");
  REQUIRE(ok);
  CHECK(ok->succeeded);

  // Another leader recreates the key: same key, new create_revision.
  REQUIRE(f.wait(f.client->erase("/election/leader")));
  REQUIRE(f.wait(f.client->put("/election/leader", "other")));
  auto stale = fenced("epoch-stale");
  REQUIRE(stale);
  CHECK_FALSE(stale->succeeded);
  CHECK(stale->responses.empty());
  auto g = f.wait(f.client->get("/partitions/0"));
  REQUIRE(g);
  REQUIRE(g->kvs.size() == 1);
  CHECK(g->kvs[0].value == "epoch-1");
}

TEST_CASE("txn compares on value or version or mod_revision or lease each decide the branch") {
  etcd_fixture f;
  auto p = f.wait(f.client->put("k", "v1"));
  REQUIRE(p);
  auto run = [&](compare c) {
    auto r = f.wait(f.client->txn({std::move(c)}, {}, {}));
    REQUIRE(r);
    return r->succeeded;
  };
  CHECK(run(compare::value_is("k", compare::op::equal, "v1")));
  CHECK_FALSE(run(compare::value_is("k", compare::op::equal, "v2")));
  CHECK(run(compare::value_is("k", compare::op::not_equal, "v2")));
  CHECK(run(compare::version_is("k", compare::op::equal, 1)));
  CHECK_FALSE(run(compare::version_is("k", compare::op::greater, 1)));
  CHECK(run(compare::mod_revision_is("k", compare::op::equal, p->header_revision)));
  CHECK(run(compare::mod_revision_is("k", compare::op::less, p->header_revision + 1)));
  CHECK_FALSE(run(compare::mod_revision_is("k", compare::op::greater, p->header_revision)));
  CHECK(run(compare::lease_is("k", compare::op::equal, lease_id{0})));

  auto l = f.wait(f.client->lease_grant(std::chrono::seconds(30)));
  REQUIRE(l);
  REQUIRE(f.wait(f.client->put("k", "v1", l->id)));
  CHECK(run(compare::lease_is("k", compare::op::equal, l->id)));
  CHECK_FALSE(run(compare::lease_is("k", compare::op::equal, lease_id{0})));
}

TEST_CASE("a txn's delete and range responses carry their counts and keys") {
  etcd_fixture f;
  REQUIRE(f.wait(f.client->put("/a/1", "x")));
  REQUIRE(f.wait(f.client->put("/a/2", "y")));
  auto r = f.wait(
      f.client->txn({}, {txn_op::range("/a/"), txn_op::erase_prefix("/a/"), txn_op::range("/a/")}));
  REQUIRE(r);
  CHECK(r->succeeded);  // no compares: success branch
  REQUIRE(r->responses.size() == 3);
  CHECK(r->responses[0].range.kvs.size() == 2);
  CHECK(r->responses[1].what == txn_op::kind::erase);
  CHECK(r->responses[1].deleted == 2);
  CHECK(r->responses[2].range.kvs.empty());
}
