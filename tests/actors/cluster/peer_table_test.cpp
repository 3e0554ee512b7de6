// peer_table: the PEERS actor's logic without actors; time is passed in by
// hand, nothing sleeps.

#include "actors/cluster/peer_table.h"

#include <catch2/catch.hpp>

using namespace actormq;
using namespace std::chrono_literals;

namespace {

peer_address addr(int32_t id, uint16_t port = 0) {
  return {id, "10.0.0." + std::to_string(id), port != 0 ? port : static_cast<uint16_t>(9000 + id)};
}

std::vector<int32_t> ids_of(const std::vector<peer_table::attempt>& xs) {
  std::vector<int32_t> out;
  for (const auto& x : xs) out.push_back(x.broker_id);
  return out;
}

const peer_table::time_point t0{};

}  // namespace

TEST_CASE("backoff doubles from the initial delay up to the maximum", "[cluster]") {
  backoff_policy b;
  std::vector<int64_t> got;
  for (uint32_t n = 1; n <= 8; ++n) got.push_back(b.delay(n).count());
  CHECK(got == std::vector<int64_t>{100, 200, 400, 800, 1600, 2000, 2000, 2000});
  CHECK(b.delay(1000).count() == 2000);
  backoff_policy odd{30ms, 100ms};
  CHECK(odd.delay(3).count() == 100);
}

TEST_CASE("a new desired set starts one attempt per new peer and ignores this broker",
          "[cluster]") {
  peer_table t(1);
  auto c = t.set_desired({addr(1), addr(3), addr(2)}, t0);
  CHECK(ids_of(c.start) == std::vector<int32_t>{2, 3});
  CHECK(c.forget.empty());
  CHECK(t.state_of(2) == peer_state::connecting);
  CHECK_FALSE(t.state_of(1));
  auto s = t.snapshot(t0, 5000);
  REQUIRE(s.size() == 2);
  CHECK(s[0].broker_id == 2);
  CHECK(s[0].host == "10.0.0.2");
  CHECK(s[0].port == 9002);
  CHECK(s[0].since_ms == 5000);
}

TEST_CASE("an unchanged peer keeps its connection when the set is sent again", "[cluster]") {
  peer_table t(1);
  auto c = t.set_desired({addr(2)}, t0);
  REQUIRE(t.attempt_succeeded(2, c.start.at(0).token, 77, t0));
  auto again = t.set_desired({addr(2), addr(3)}, t0 + 1s);
  CHECK(ids_of(again.start) == std::vector<int32_t>{3});
  CHECK(again.forget.empty());
  CHECK(t.state_of(2) == peer_state::up);
}

TEST_CASE("a removed peer is forgotten and its late attempt result ignored", "[cluster]") {
  peer_table t(1);
  auto c = t.set_desired({addr(2), addr(3)}, t0);
  auto removed = t.set_desired({addr(3)}, t0 + 1s);
  CHECK(removed.forget == std::vector<int32_t>{2});
  CHECK(removed.start.empty());
  CHECK_FALSE(t.attempt_succeeded(2, c.start.at(0).token, 5, t0 + 2s));
  CHECK_FALSE(t.attempt_failed(2, c.start.at(0).token, "late", t0 + 2s));
  CHECK_FALSE(t.state_of(2));
}

TEST_CASE("a peer whose address changed is forgotten and connected again", "[cluster]") {
  peer_table t(1);
  auto c = t.set_desired({addr(2)}, t0);
  REQUIRE(t.attempt_succeeded(2, c.start.at(0).token, 5, t0));
  auto moved = t.set_desired({addr(2, 9100)}, t0 + 1s);
  CHECK(moved.forget == std::vector<int32_t>{2});
  REQUIRE(ids_of(moved.start) == std::vector<int32_t>{2});
  CHECK(moved.start[0].token != c.start[0].token);
  CHECK(t.state_of(2) == peer_state::connecting);
  CHECK(t.address_of(2)->port == 9100);
  // The attempt to the old address answers late: stale.
  CHECK_FALSE(t.attempt_succeeded(2, c.start[0].token, 5, t0 + 2s));
}

TEST_CASE("failed attempts back off 100 ms doubling to 2 s, and success resets the backoff",
          "[cluster]") {
  peer_table t(1);
  auto token = t.set_desired({addr(2)}, t0).start.at(0).token;
  auto now = t0;
  std::vector<int64_t> delays;
  for (int i = 0; i < 7; ++i) {
    auto r = t.attempt_failed(2, token, "refused", now);
    REQUIRE(r);
    delays.push_back(r->delay.count());
    now += r->delay;
    auto a = t.retry_due(2, r->token);
    REQUIRE(a);
    token = a->token;
  }
  CHECK(delays == std::vector<int64_t>{100, 200, 400, 800, 1600, 2000, 2000});
  REQUIRE(t.attempt_succeeded(2, token, 9, now));
  auto lost = t.connection_lost(2, "gone", now + 1s);
  REQUIRE(lost);
  CHECK(lost->delay == 100ms);
}

TEST_CASE("a peer stays down since its first failure while retries fail", "[cluster]") {
  peer_table t(1);
  auto token = t.set_desired({addr(2)}, t0).start.at(0).token;
  auto r = t.attempt_failed(2, token, "refused", t0 + 1s);
  REQUIRE(r);
  auto a = t.retry_due(2, r->token);
  REQUIRE(a);
  CHECK(t.state_of(2) == peer_state::down);
  r = t.attempt_failed(2, a->token, "timed out", t0 + 3s);
  REQUIRE(r);
  auto s = t.snapshot(t0 + 10s, 100'000);
  REQUIRE(s.size() == 1);
  CHECK(s[0].state == peer_state::down);
  CHECK(s[0].since_ms == 100'000 - 9'000);
  CHECK(s[0].last_error == "timed out");
}

TEST_CASE("stale retry timers are ignored", "[cluster]") {
  peer_table t(1);
  auto token = t.set_desired({addr(2)}, t0).start.at(0).token;
  auto r = t.attempt_failed(2, token, "refused", t0);
  REQUIRE(r);
  // Removed and added again before the timer fires: a fresh attempt runs,
  // the old timer must not start a second one.
  t.set_desired({}, t0 + 10ms);
  auto again = t.set_desired({addr(2)}, t0 + 20ms);
  REQUIRE(again.start.size() == 1);
  CHECK_FALSE(t.retry_due(2, r->token));
  // A timer that fires twice starts one attempt.
  auto r2 = t.attempt_failed(2, again.start[0].token, "refused", t0 + 30ms);
  REQUIRE(r2);
  CHECK(t.retry_due(2, r2->token));
  CHECK_FALSE(t.retry_due(2, r2->token));
}

TEST_CASE("a lost up peer reconnects and reports the incarnation of the restarted broker",
          "[cluster]") {
  peer_table t(1);
  auto token = t.set_desired({addr(2)}, t0).start.at(0).token;
  REQUIRE(t.attempt_succeeded(2, token, 111, t0));
  CHECK(t.incarnation_of(2) == 111);
  CHECK_FALSE(t.connection_lost(3, "unknown peer", t0));
  auto r = t.connection_lost(2, "connection lost: remote_link_unreachable", t0 + 1s);
  REQUIRE(r);
  CHECK(t.state_of(2) == peer_state::down);
  CHECK_FALSE(t.connection_lost(2, "twice", t0 + 1s));
  auto a = t.retry_due(2, r->token);
  REQUIRE(a);
  REQUIRE(t.attempt_succeeded(2, a->token, 222, t0 + 2s));
  auto s = t.snapshot(t0 + 2s, 50'000);
  REQUIRE(s.size() == 1);
  CHECK(s[0].state == peer_state::up);
  CHECK(s[0].incarnation == 222);
  CHECK(s[0].last_error.empty());
  CHECK(s[0].since_ms == 50'000);
  // An up peer ignores a second success and retry timers.
  CHECK_FALSE(t.attempt_succeeded(2, a->token, 333, t0 + 3s));
  CHECK_FALSE(t.retry_due(2, a->token));
}

TEST_CASE("a lost peer whose port refuses the first reconnect is reported gone once", "[cluster]") {
  peer_table t(1);
  auto token = t.set_desired({addr(2)}, t0).start.at(0).token;
  REQUIRE(t.attempt_succeeded(2, token, 111, t0));
  auto lost = t.connection_lost(2, "connection lost", t0 + 1s);
  REQUIRE(lost);
  CHECK(lost->gone_incarnation == 0);
  auto a = t.retry_due(2, lost->token);
  REQUIRE(a);
  auto r = t.attempt_failed(2, a->token, "connect: cannot_connect_to_node", t0 + 2s, true);
  REQUIRE(r);
  CHECK(r->gone_incarnation == 111);
  // Later refusals are ordinary retries: reported once per lost connection.
  auto b = t.retry_due(2, r->token);
  REQUIRE(b);
  auto r2 = t.attempt_failed(2, b->token, "connect: cannot_connect_to_node", t0 + 3s, true);
  REQUIRE(r2);
  CHECK(r2->gone_incarnation == 0);
}

TEST_CASE("a lost peer is not reported gone when the reconnect times out or succeeds",
          "[cluster]") {
  peer_table t(1);
  auto token = t.set_desired({addr(2)}, t0).start.at(0).token;
  REQUIRE(t.attempt_succeeded(2, token, 111, t0));
  // A frozen peer: the handshake times out (not refused), then it refuses.
  auto lost = t.connection_lost(2, "connection lost", t0 + 1s);
  auto a = t.retry_due(2, lost->token);
  auto r = t.attempt_failed(2, a->token, "connect: request_timeout", t0 + 2s, false);
  REQUIRE(r);
  CHECK(r->gone_incarnation == 0);
  auto b = t.retry_due(2, r->token);
  auto r2 = t.attempt_failed(2, b->token, "connect: cannot_connect_to_node", t0 + 3s, true);
  REQUIRE(r2);
  CHECK(r2->gone_incarnation == 0);
  // Back up, lost again, back at once: nothing to report either.
  auto c = t.retry_due(2, r2->token);
  REQUIRE(t.attempt_succeeded(2, c->token, 222, t0 + 4s));
  auto lost2 = t.connection_lost(2, "connection lost", t0 + 5s);
  auto d = t.retry_due(2, lost2->token);
  REQUIRE(t.attempt_succeeded(2, d->token, 222, t0 + 6s));
  // A peer never up is never reported, refused or not.
  peer_table u(1);
  auto first = u.set_desired({addr(3)}, t0).start.at(0).token;
  auto f = u.attempt_failed(3, first, "connect: cannot_connect_to_node", t0, true);
  REQUIRE(f);
  CHECK(f->gone_incarnation == 0);
}
