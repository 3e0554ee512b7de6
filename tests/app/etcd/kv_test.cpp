// put, get, range and erase against a real etcd.

#include <catch2/catch.hpp>

#include "etcd_fixture.h"

using namespace actormq::etcd;
using actormq::test::etcd_fixture;

TEST_CASE("put then get returns the value with binary bytes intact") {
  etcd_fixture f;
  std::string key("k\0\xff", 3);
  std::string value("\0\x01\xfe\xff\n\"{", 7);
  auto p = f.wait(f.client->put(key, value));
  REQUIRE(p);
  CHECK(p->header_revision.value() > 1);
  auto g = f.wait(f.client->get(key));
  REQUIRE(g);
  REQUIRE(g->kvs.size() == 1);
  CHECK(g->kvs[0].key == key);
  CHECK(g->kvs[0].value == value);
  CHECK(g->kvs[0].create_revision == p->header_revision);
  CHECK(g->kvs[0].mod_revision == p->header_revision);
  CHECK(g->kvs[0].version == 1);
  CHECK(g->header_revision == p->header_revision);

  auto p2 = f.wait(f.client->put(key, ""));
  REQUIRE(p2);
  auto g2 = f.wait(f.client->get(key));
  REQUIRE(g2);
  REQUIRE(g2->kvs.size() == 1);
  CHECK(g2->kvs[0].value.empty());
  CHECK(g2->kvs[0].version == 2);
  CHECK(g2->kvs[0].create_revision == p->header_revision);
  CHECK(g2->kvs[0].mod_revision == p2->header_revision);
}

TEST_CASE("get of a missing key succeeds with no kvs") {
  etcd_fixture f;
  auto g = f.wait(f.client->get("nothing-here"));
  REQUIRE(g);
  CHECK(g->kvs.empty());
  CHECK(g->count == 0);
  CHECK(g->header_revision.value() >= 1);
}

TEST_CASE("range returns every key under a prefix in key order and none beside it") {
  etcd_fixture f;
  for (auto k : {"/brokers/2", "/brokers/1", "/brokers0", "/broker", "/brokers/\xff"}) {
    REQUIRE(f.wait(f.client->put(k, k)));
  }
  auto r = f.wait(f.client->range("/brokers/"));
  REQUIRE(r);
  REQUIRE(r->kvs.size() == 3);
  CHECK(r->kvs[0].key == "/brokers/1");
  CHECK(r->kvs[1].key == "/brokers/2");
  CHECK(r->kvs[2].key == "/brokers/\xff");
  CHECK(r->count == 3);

  // A prefix ending in 0xff: the range end must carry into the byte before.
  std::string ff_prefix("/brokers/\xff", 10);
  auto r2 = f.wait(f.client->range(ff_prefix));
  REQUIRE(r2);
  REQUIRE(r2->kvs.size() == 1);
  CHECK(r2->kvs[0].key == ff_prefix);

  auto all = f.wait(f.client->range(""));
  REQUIRE(all);
  CHECK(all->kvs.size() == 5);
}

TEST_CASE("erase removes one key and erase_prefix removes exactly the prefix") {
  etcd_fixture f;
  for (auto k : {"/t/a", "/t/b", "/t/c/d", "/u"}) REQUIRE(f.wait(f.client->put(k, "x")));
  auto e = f.wait(f.client->erase("/t/a"));
  REQUIRE(e);
  CHECK(e->deleted == 1);
  auto again = f.wait(f.client->erase("/t/a"));
  REQUIRE(again);
  CHECK(again->deleted == 0);
  auto ep = f.wait(f.client->erase_prefix("/t/"));
  REQUIRE(ep);
  CHECK(ep->deleted == 2);
  auto rest = f.wait(f.client->range(""));
  REQUIRE(rest);
  REQUIRE(rest->kvs.size() == 1);
  CHECK(rest->kvs[0].key == "/u");
}

TEST_CASE("an empty key is refused by etcd as request_failed with etcd's message") {
  etcd_fixture f;
  auto p = f.wait(f.client->put("", "v"));
  REQUIRE_FALSE(p);
  CHECK(p.code() == errc::request_failed);
  CHECK(p.err().message.find("key is not provided") != std::string::npos);
}
