#include "actors/group/group_membership.h"

#include <catch2/catch.hpp>

using namespace actormq::group;

namespace {

using tps = std::vector<topic_partition>;

tps parts(std::initializer_list<int32_t> ps) {
  tps out;
  for (auto p : ps) out.push_back({"t", p});
  return out;
}

constexpr int64_t session_ms = 10'000;

group_membership make_group(const std::string& protocol) {
  auto g = group_membership::create({"g", protocol, "s", 1'000, 60'000}, {{"t", 6}});
  REQUIRE(g);
  return std::move(g).value();
}

member_id join(group_membership& g, const std::string& client, int64_t now) {
  auto r = g.join({"", client, "host", {"t"}, session_ms}, now);
  REQUIRE(r);
  return r->id;
}

// Joins a, b and c at time 0 and lets each confirm the final generation.
std::vector<member_id> three_members(group_membership& g) {
  std::vector<member_id> ids{join(g, "a", 0), join(g, "b", 0), join(g, "c", 0)};
  for (const auto& id : ids) {
    auto hb = g.heartbeat(id, g.generation(), 0);
    REQUIRE(hb);
    REQUIRE(hb->status == heartbeat_status::ok);
  }
  return ids;
}

}  // namespace

TEST_CASE(
    "three consumers split six partitions and the sticky group keeps theirs when one leaves") {
  auto g = make_group("sticky");
  auto ids = three_members(g);
  const auto a = ids[0], b = ids[1], c = ids[2];
  CHECK(a == "a-s-1");
  CHECK(g.generation() == generation_id(3));
  CHECK(*g.assignment(a) == parts({0, 1}));
  CHECK(*g.assignment(b) == parts({3, 4}));
  CHECK(*g.assignment(c) == parts({2, 5}));
  CHECK(g.describe().state == group_state::stable);

  REQUIRE(g.leave(b));
  CHECK(g.generation() == generation_id(4));
  CHECK(*g.assignment(a) == parts({0, 1, 3}));
  CHECK(*g.assignment(c) == parts({2, 4, 5}));
  CHECK(g.describe().state == group_state::propagating);

  // The survivors lost nothing: they are not stopped and may still commit
  // with the generation they know.
  CHECK(g.authorize_commit(a, generation_id(3)));
  CHECK(g.authorize_commit(c, generation_id(3)));

  auto hb = g.heartbeat(a, generation_id(3), 100);
  REQUIRE(hb);
  CHECK(hb->status == heartbeat_status::rebalance_needed);
  CHECK(hb->assignment.generation == generation_id(4));
  CHECK(hb->assignment.assigned == parts({0, 1, 3}));
  CHECK(hb->assignment.revoked.empty());
  CHECK(hb->assignment.added == parts({3}));

  // Asking again before confirming gives the same answer.
  auto again = g.heartbeat(a, generation_id(3), 150);
  REQUIRE(again);
  CHECK(again->assignment.added == parts({3}));

  auto ok = g.heartbeat(a, generation_id(4), 200);
  REQUIRE(ok);
  CHECK(ok->status == heartbeat_status::ok);
  CHECK(ok->assignment.added.empty());
}

TEST_CASE("session timeout expiry removes a member and reassigns its partitions") {
  auto g = make_group("sticky");
  auto ids = three_members(g);
  const auto a = ids[0], b = ids[1], c = ids[2];
  CHECK(g.next_expiry_ms() == session_ms);

  // a and c keep heartbeating; b goes silent after time 0.
  REQUIRE(g.heartbeat(a, g.generation(), 6'000));
  REQUIRE(g.heartbeat(c, g.generation(), 6'000));
  CHECK(g.expire(session_ms - 1).empty());
  CHECK(g.size() == 3);

  auto gone = g.expire(session_ms);
  CHECK(gone == std::vector<member_id>{b});
  CHECK(g.size() == 2);
  CHECK(g.generation() == generation_id(4));
  CHECK(*g.assignment(a) == parts({0, 1, 3}));
  CHECK(*g.assignment(c) == parts({2, 4, 5}));
  CHECK(g.next_expiry_ms() == 6'000 + session_ms);

  // The expired member is gone for good: it has to join again.
  CHECK(g.heartbeat(b, generation_id(3), session_ms + 1).error() == errc::unknown_member);
  CHECK(g.authorize_commit(b, generation_id(3)).error() == errc::unknown_member);
}

TEST_CASE("a stale generation cannot commit") {
  SECTION("sticky fences the member that lost a partition") {
    auto g = make_group("sticky");
    auto ids = three_members(g);
    const auto a = ids[0], b = ids[1];
    auto d = join(g, "d", 10);
    CHECK(g.generation() == generation_id(4));
    CHECK(*g.assignment(d) == parts({1}));
    // a gave partition 1 to d: its old generation is stale.
    CHECK(g.authorize_commit(a, generation_id(3)).error() == errc::stale_generation);
    // b lost nothing and is not stopped.
    CHECK(g.authorize_commit(b, generation_id(3)));
    CHECK(g.authorize_commit(d, generation_id(4)));

    auto hb = g.heartbeat(a, generation_id(3), 20);
    REQUIRE(hb);
    CHECK(hb->status == heartbeat_status::rebalance_needed);
    CHECK(hb->assignment.revoked == parts({1}));
    CHECK(hb->assignment.assigned == parts({0}));
    CHECK(g.authorize_commit(a, generation_id(4)));
  }
  SECTION("an eager strategy fences every member on a rebalance") {
    auto g = make_group("range");
    auto ids = three_members(g);
    CHECK(*g.assignment(ids[0]) == parts({0, 1}));
    CHECK(*g.assignment(ids[1]) == parts({2, 3}));
    CHECK(*g.assignment(ids[2]) == parts({4, 5}));
    REQUIRE(g.leave(ids[2]));
    CHECK(g.authorize_commit(ids[0], generation_id(3)).error() == errc::stale_generation);
    CHECK(g.authorize_commit(ids[1], generation_id(3)).error() == errc::stale_generation);

    auto hb = g.heartbeat(ids[0], generation_id(3), 5);
    REQUIRE(hb);
    CHECK(hb->status == heartbeat_status::rebalance_needed);
    CHECK(hb->assignment.assigned == parts({0, 1, 2}));
    CHECK(hb->assignment.revoked == parts({0, 1}));
    CHECK(hb->assignment.added == parts({0, 1, 2}));
    CHECK(g.authorize_commit(ids[0], generation_id(4)));
  }
  SECTION("a generation newer than the group's is illegal") {
    auto g = make_group("sticky");
    auto ids = three_members(g);
    CHECK(g.authorize_commit(ids[0], generation_id(4)).error() == errc::illegal_generation);
    CHECK(g.heartbeat(ids[0], generation_id(4), 1).error() == errc::illegal_generation);
  }
}

TEST_CASE("an unknown member can neither heartbeat nor commit nor leave nor rejoin by id") {
  auto g = make_group("sticky");
  three_members(g);
  CHECK(g.heartbeat("nobody", generation_id(3), 0).error() == errc::unknown_member);
  CHECK(g.authorize_commit("nobody", generation_id(3)).error() == errc::unknown_member);
  CHECK(g.leave("nobody").error() == errc::unknown_member);
  CHECK(g.assignment("nobody").error() == errc::unknown_member);
  CHECK(g.join({"nobody", "x", "h", {"t"}, session_ms}, 0).error() == errc::unknown_member);
  CHECK(g.generation() == generation_id(3));
}

TEST_CASE("a member cannot commit a partition it does not own") {
  auto g = make_group("sticky");
  auto ids = three_members(g);
  const auto a = ids[0], b = ids[1];
  CHECK(g.authorize_commit(a, generation_id(3), {"t", 0}));
  CHECK(g.authorize_commit(a, generation_id(3), {"t", 3}).error() == errc::not_assigned);
  CHECK(g.authorize_commit(a, generation_id(3), {"other", 0}).error() == errc::not_assigned);
  REQUIRE(g.leave(b));
  // a gained t-3 at generation 4 and was not fenced: it may commit it.
  CHECK(g.authorize_commit(a, generation_id(4), {"t", 3}));
  CHECK(g.authorize_commit("nobody", generation_id(4), {"t", 3}).error() == errc::unknown_member);
}

TEST_CASE("group errors carry readable messages in their own category") {
  std::error_code ec = errc::stale_generation;
  CHECK(ec.category().name() == std::string("actormq.group"));
  CHECK(ec.message() == "stale generation");
}

TEST_CASE("a rejoin with the same topics keeps the generation and one with new topics rebalances") {
  auto g = make_group("sticky");
  auto ids = three_members(g);
  auto same = g.join({ids[0], "a", "host", {"t"}, session_ms}, 50);
  REQUIRE(same);
  CHECK(same->id == ids[0]);
  CHECK(same->assignment.generation == generation_id(3));
  CHECK(same->assignment.assigned == parts({0, 1}));
  CHECK(same->assignment.revoked.empty());
  CHECK(g.next_expiry_ms() == session_ms);  // b and c still at time 0

  CHECK_FALSE(g.update_topics({{"t", 6}, {"u", 2}}));  // nobody reads u yet
  CHECK(g.generation() == generation_id(3));
  auto moved = g.join({ids[0], "a", "host", {"t", "u"}, session_ms}, 60);
  REQUIRE(moved);
  CHECK(moved->assignment.generation == generation_id(4));
  // Only a reads u; it gives t-1 to b so that counts stay within one.
  CHECK(moved->assignment.assigned == tps{{"t", 0}, {"u", 0}, {"u", 1}});
  CHECK(moved->assignment.added == tps{{"u", 0}, {"u", 1}});
  CHECK(moved->assignment.revoked == tps{{"t", 1}});
  CHECK(*g.assignment(ids[1]) == parts({1, 3, 4}));
}

TEST_CASE("join rejects a session timeout outside the group's bounds and an empty subscription") {
  auto g = make_group("sticky");
  CHECK(g.join({"", "a", "h", {"t"}, 10}, 0).error() == errc::invalid_session_timeout);
  CHECK(g.join({"", "a", "h", {"t"}, 3'600'000}, 0).error() == errc::invalid_session_timeout);
  CHECK(g.join({"", "a", "h", {}, session_ms}, 0).error() == errc::invalid_argument);
  CHECK(g.empty());
  CHECK(g.generation() == generation_id(0));
  group_config bad;
  bad.protocol = "nope";
  CHECK(group_membership::create(bad, {}).error() == errc::unknown_protocol);
}

TEST_CASE("more partitions for a subscribed topic rebalance the group") {
  auto g = make_group("sticky");
  auto ids = three_members(g);
  CHECK(g.update_topics({{"t", 9}}));
  CHECK(g.generation() == generation_id(4));
  CHECK(*g.assignment(ids[0]) == parts({0, 1, 6}));
  CHECK(*g.assignment(ids[1]) == parts({3, 4, 7}));
  CHECK(*g.assignment(ids[2]) == parts({2, 5, 8}));
  CHECK_FALSE(g.update_topics({{"t", 9}}));
}

TEST_CASE("a member waiting for a topic not created yet gets it once the metadata has it") {
  auto g = make_group("range");
  CHECK_FALSE(g.has_unknown_topics());  // no members
  auto r = g.join({"", "a", "host", {"later"}, session_ms}, 0);
  REQUIRE(r);
  CHECK(r->assignment.assigned.empty());
  CHECK(g.has_unknown_topics());
  CHECK(g.update_topics({{"t", 6}, {"later", 2}}));
  CHECK_FALSE(g.has_unknown_topics());
  CHECK(*g.assignment(r->id) == tps{{"later", 0}, {"later", 1}});
}

TEST_CASE("describe lists members assignments generation and protocol") {
  auto g = make_group("roundrobin");
  auto ids = three_members(g);
  auto d = g.describe();
  CHECK(d.group_id == "g");
  CHECK(d.protocol == "roundrobin");
  CHECK(d.generation == generation_id(3));
  CHECK(d.state == group_state::stable);
  REQUIRE(d.members.size() == 3);
  CHECK(d.members[0].id == ids[0]);
  CHECK(d.members[0].client_id == "a");
  CHECK(d.members[0].client_host == "host");
  CHECK(d.members[0].topics == std::vector<std::string>{"t"});
  CHECK(d.members[0].assigned == parts({0, 3}));
  CHECK(d.members[1].assigned == parts({1, 4}));
  CHECK(d.members[2].assigned == parts({2, 5}));
  CHECK(d.members[2].confirmed_generation == generation_id(3));
  CHECK(to_string(d.state) == "stable");

  REQUIRE(g.leave(ids[0]));
  REQUIRE(g.leave(ids[1]));
  REQUIRE(g.leave(ids[2]));
  CHECK(g.describe().state == group_state::empty);
  CHECK(g.next_expiry_ms() == std::nullopt);
}
