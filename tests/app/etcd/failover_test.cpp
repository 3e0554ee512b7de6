// Endpoints that are down, dead, frozen or restarted: every call ends within
// its bound with the error that says what happened. Calls expected to
// succeed get a generous bound (etcd's fsync on a loaded 2-core machine can
// take a second); the bound under test is short and checked from both sides.

#include <catch2/catch.hpp>

#include "etcd_fixture.h"

using namespace actormq::etcd;
using namespace std::chrono_literals;
using actormq::test::config_for;
using actormq::test::etcd_process;
using actormq::test::kj_loop;
using actormq::test::timed;

TEST_CASE("a request to a stopped etcd fails with unavailable within the timeout") {
  etcd_process etcd;
  REQUIRE(etcd.start());
  kj_loop loop;
  // A refused connection must fail at once, not wait for the 5 s bound.
  etcd_client client(loop.io, config_for({etcd.client_url()}, 5000ms));
  REQUIRE(loop.wait(client.put("k", "v")));
  etcd.stop();
  auto [r, ms] = timed([&] { return loop.wait(client.get("k")); });
  REQUIRE_FALSE(r);
  CHECK(r.code() == errc::unavailable);
  CHECK(ms < 1000ms);
  auto [w, wms] = timed([&] { return loop.wait(client.watch("k", {}, [](auto) {})); });
  REQUIRE_FALSE(w);
  CHECK(w.code() == errc::unavailable);
  CHECK(wms < 1000ms);
}

TEST_CASE("the second endpoint is used when the first is dead") {
  etcd_process etcd;
  REQUIRE(etcd.start());
  kj_loop loop;
  auto dead = "http://127.0.0.1:" + std::to_string(etcd_process::free_port());
  etcd_client client(loop.io, config_for({dead, etcd.client_url()}, 5000ms));
  auto p = loop.wait(client.put("k", "v"));
  REQUIRE(p);
  // The client moved on: the next call starts at the live endpoint.
  CHECK(client.current_endpoint().port == etcd.client_port());
  auto g = loop.wait(client.get("k"));
  REQUIRE(g);
  CHECK(g->kvs.at(0).value == "v");
}

TEST_CASE("with every endpoint dead a call fails with unavailable after one pass") {
  kj_loop loop;
  auto a = "http://127.0.0.1:" + std::to_string(etcd_process::free_port());
  auto b = "http://127.0.0.1:" + std::to_string(etcd_process::free_port());
  etcd_client client(loop.io, config_for({a, b}, 5000ms));
  auto [r, ms] = timed([&] { return loop.wait(client.get("k")); });
  REQUIRE_FALSE(r);
  CHECK(r.code() == errc::unavailable);
  CHECK(ms < 1000ms);
}

TEST_CASE("after etcd restarts the client works again and the data is kept") {
  etcd_process etcd;
  REQUIRE(etcd.start());
  kj_loop loop;
  etcd_client client(loop.io, config_for({etcd.client_url()}, 5000ms));
  REQUIRE(loop.wait(client.put("k", "before")));
  etcd.kill();
  auto down = loop.wait(client.get("k"));
  REQUIRE_FALSE(down);
  CHECK(down.code() == errc::unavailable);
  REQUIRE(etcd.restart());
  auto g = loop.wait(client.get("k"));
  REQUIRE(g);
  REQUIRE(g->kvs.size() == 1);
  CHECK(g->kvs[0].value == "before");
  REQUIRE(loop.wait(client.put("k", "after")));
}

TEST_CASE("a request to a SIGSTOPped etcd fails with timeout within the bound") {
  etcd_process etcd;
  REQUIRE(etcd.start());
  kj_loop loop;
  etcd_client client(loop.io, config_for({etcd.client_url()}, 500ms));
  etcd_client generous(loop.io, config_for({etcd.client_url()}, 5000ms));
  REQUIRE(loop.wait(generous.put("k", "v")));
  REQUIRE(loop.wait(client.get("k")));  // the connection path works before the freeze
  etcd.pause();
  auto [r, ms] = timed([&] { return loop.wait(client.get("k")); });
  REQUIRE_FALSE(r);
  CHECK(r.code() == errc::timeout);
  CHECK(ms >= 450ms);
  CHECK(ms < 1500ms);
  auto [w, wms] = timed([&] { return loop.wait(client.watch("k", {}, [](auto) {})); });
  REQUIRE_FALSE(w);
  CHECK(w.code() == errc::timeout);
  CHECK(wms < 1500ms);
  etcd.resume();
  auto after = loop.wait(generous.get("k"));
  REQUIRE(after);
  CHECK(after->kvs.size() == 1);
}

TEST_CASE("after a timeout on a frozen first endpoint the next request goes to the second") {
  etcd_process frozen, live;
  REQUIRE(frozen.start());
  REQUIRE(live.start());
  kj_loop loop;
  etcd_client client(loop.io, config_for({frozen.client_url(), live.client_url()}, 1500ms));
  etcd_client generous(loop.io, config_for({frozen.client_url()}, 5000ms));
  REQUIRE(loop.wait(generous.put("k", "frozen-side")));
  frozen.pause();
  auto [t, ms] = timed([&] { return loop.wait(client.get("k")); });
  REQUIRE_FALSE(t);
  CHECK(t.code() == errc::timeout);
  CHECK(ms >= 1400ms);
  CHECK(ms < 3000ms);
  CHECK(client.current_endpoint().port == live.client_port());
  auto p = loop.wait(client.put("k", "live-side"));
  REQUIRE(p);
  auto g = loop.wait(client.get("k"));
  REQUIRE(g);
  CHECK(g->kvs.at(0).value == "live-side");
  frozen.resume();
}
