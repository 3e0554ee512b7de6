// GROUP actor (reached through the GROUP COORDINATOR): partitions split
// between members and move on leave and on session expiry; generation
// fencing and ownership checks on commit.

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "support/actor_fixture.h"
#include "support/temp_dir.h"

using namespace actormq;
using namespace actormq::test;

namespace {

using tp_list = std::vector<group::topic_partition>;

/// A consumer as the test drives it: its id and what it was told last.
struct consumer {
  std::string id;
  int32_t generation = 0;
  tp_list assigned;
};

struct group_fixture {
  temp_dir dir;
  broker_env env;
  caf::scoped_actor self;
  group_actor group;

  explicit group_fixture(const std::string& name, coordinator_settings cs = {})
      : env(dir.path(), {}, std::move(cs)), self(env.sys()) {
    env.create_topic("orders", 6);
    auto g = ask<group_actor>(self, env.coordinator, group_atom::value, name);
    REQUIRE(g);
    group = *g;
  }

  consumer join(const std::string& client, const std::string& strategy,
                int64_t session_timeout_ms = 10'000) {
    group::join_request req{"", client, "localhost", {"orders"}, session_timeout_ms};
    auto r = ask<group::join_result>(self, group, join_atom::value, req, strategy);
    REQUIRE(r);
    return {r->id, r->assignment.generation(), r->assignment.assigned};
  }

  /// Heartbeats and adopts a new assignment if there is one; returns the result.
  group::heartbeat_result heartbeat(consumer& c) {
    auto r = ask<group::heartbeat_result>(self, group, heartbeat_atom::value, c.id, c.generation);
    REQUIRE(r);
    c.generation = r->assignment.generation();
    c.assigned = r->assignment.assigned;
    return *r;
  }

  /// Heartbeats until the member confirmed the current generation: the
  /// first heartbeat after a rebalance adopts it, the next one confirms it.
  void catch_up(consumer& c) {
    for (int i = 0; i < 3; ++i) {
      if (heartbeat(c).status == group::heartbeat_status::ok) return;
    }
    FAIL("member " << c.id << " did not settle on a generation");
  }

  caf::expected<bool> commit(const consumer& c, int32_t generation, const std::string& topic,
                             int32_t partition, int64_t offset) {
    std::vector<committed_offset> offsets{{topic, partition, offset, ""}};
    return ask<bool>(self, group, commit_atom::value, c.id, generation, offsets);
  }
};

tp_list all_orders() {
  tp_list out;
  for (int32_t p = 0; p < 6; ++p) out.push_back({"orders", p});
  return out;
}

/// True when the lists are disjoint and together hold every partition.
bool is_split_of_all(const std::vector<tp_list>& parts) {
  tp_list all;
  for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  std::sort(all.begin(), all.end());
  return all == all_orders();
}

bool contains_all(const tp_list& big, const tp_list& small) {
  return std::includes(big.begin(), big.end(), small.begin(), small.end());
}

}  // namespace

TEST_CASE("three sticky consumers split six partitions and keep theirs when one leaves",
          "[actors][group]") {
  group_fixture f("sticky-group");
  auto a = f.join("a", "sticky");
  CHECK(a.assigned == all_orders());
  auto b = f.join("b", "sticky");
  auto c = f.join("c", "sticky");
  // Everyone catches up with the current generation and confirms it.
  f.catch_up(a);
  f.catch_up(b);
  CHECK(f.heartbeat(c).status == group::heartbeat_status::ok);
  CHECK(a.generation == c.generation);
  CHECK(b.generation == c.generation);
  CHECK(a.assigned.size() == 2);
  CHECK(b.assigned.size() == 2);
  CHECK(c.assigned.size() == 2);
  CHECK(is_split_of_all({a.assigned, b.assigned, c.assigned}));

  auto left = ask<bool>(f.self, f.group, leave_atom::value, c.id);
  REQUIRE(left);
  CHECK(*left);
  const auto a_before = a.assigned;
  const auto b_before = b.assigned;
  auto ha = f.heartbeat(a);
  auto hb = f.heartbeat(b);
  CHECK(ha.status == group::heartbeat_status::rebalance_needed);
  CHECK(hb.status == group::heartbeat_status::rebalance_needed);
  CHECK(a.generation > c.generation);
  // Sticky: the survivors keep what they had, revoke nothing, and pick up
  // the leaver's partitions between them.
  CHECK(contains_all(a.assigned, a_before));
  CHECK(contains_all(b.assigned, b_before));
  CHECK(ha.assignment.revoked.empty());
  CHECK(hb.assignment.revoked.empty());
  CHECK(a.assigned.size() == 3);
  CHECK(b.assigned.size() == 3);
  CHECK(is_split_of_all({a.assigned, b.assigned}));
  tp_list moved;
  moved.insert(moved.end(), ha.assignment.added.begin(), ha.assignment.added.end());
  moved.insert(moved.end(), hb.assignment.added.begin(), hb.assignment.added.end());
  std::sort(moved.begin(), moved.end());
  CHECK(moved == c.assigned);

  // A survivor commits a partition it took over, with its new generation.
  REQUIRE_FALSE(ha.assignment.added.empty());
  const auto taken = ha.assignment.added.front();
  auto ok = f.commit(a, a.generation, taken.topic, taken.partition, 42);
  REQUIRE(ok);
  CHECK(*ok);
  auto committed =
      ask<std::vector<committed_offset>>(f.self, f.group, committed_atom::value, tp_list{taken});
  REQUIRE(committed);
  REQUIRE(committed->size() == 1);
  CHECK((*committed)[0].topic == taken.topic);
  CHECK((*committed)[0].partition == taken.partition);
  CHECK((*committed)[0].offset == 42);

  // The leaver is gone.
  auto gone =
      ask<group::heartbeat_result>(f.self, f.group, heartbeat_atom::value, c.id, c.generation);
  CHECK(code_of(gone) == errc::unknown_member);
  auto info = ask<group_info>(f.self, f.group, describe_atom::value);
  REQUIRE(info);
  CHECK(info->membership.members.size() == 2);
  CHECK(info->membership.protocol == "sticky");
  CHECK(info->partitions.size() == 6);
}

TEST_CASE("a member that stops heartbeating expires within its session timeout",
          "[actors][group]") {
  coordinator_settings cs;
  cs.min_session_timeout_ms = 50;
  group_fixture f("expiry-group", cs);
  auto alive = f.join("alive", "sticky");
  const int64_t short_timeout_ms = 300;
  auto start = std::chrono::steady_clock::now();
  auto silent = f.join("silent", "sticky", short_timeout_ms);
  f.heartbeat(alive);
  CHECK(alive.assigned.size() == 3);

  // The live member keeps heartbeating until it is told it owns everything:
  // the silent one's session ran out.
  bool took_over = poll_until(
      [&] {
        f.heartbeat(alive);
        return alive.assigned == all_orders();
      },
      std::chrono::seconds(10), std::chrono::milliseconds(50));
  auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE(took_over);
  CHECK(elapsed >= std::chrono::milliseconds(short_timeout_ms));
  // The group checks expiry on a 250 ms tick; allow scheduling slack.
  CHECK(elapsed < std::chrono::milliseconds(short_timeout_ms) + std::chrono::seconds(3));

  auto late = ask<group::heartbeat_result>(f.self, f.group, heartbeat_atom::value, silent.id,
                                           silent.generation);
  CHECK(code_of(late) == errc::unknown_member);
  CHECK(code_of(f.commit(silent, silent.generation, "orders", 0, 1)) == errc::unknown_member);
  // What the silent member had is the live one's to commit now.
  REQUIRE_FALSE(silent.assigned.empty());
  const auto inherited = silent.assigned.back();
  REQUIRE(f.commit(alive, alive.generation, inherited.topic, inherited.partition, 7));
  auto committed = ask<std::vector<committed_offset>>(f.self, f.group, committed_atom::value,
                                                      tp_list{inherited});
  REQUIRE(committed);
  REQUIRE(committed->size() == 1);
  CHECK((*committed)[0].offset == 7);
  auto info = ask<group_info>(f.self, f.group, describe_atom::value);
  REQUIRE(info);
  REQUIRE(info->membership.members.size() == 1);
  CHECK(info->membership.members[0].id == alive.id);
}

TEST_CASE("a stale generation cannot commit after an eager rebalance", "[actors][group]") {
  group_fixture f("range-group");
  auto a = f.join("a", "range");
  CHECK(a.assigned == all_orders());
  const int32_t old_generation = a.generation;
  REQUIRE(f.commit(a, old_generation, "orders", 5, 10));

  auto b = f.join("b", "range");
  CHECK(b.generation > old_generation);
  // Range is eager: every member is fenced at the new generation.
  CHECK(code_of(f.commit(a, old_generation, "orders", 0, 11)) == errc::stale_generation);

  auto hb = f.heartbeat(a);
  CHECK(hb.status == group::heartbeat_status::rebalance_needed);
  CHECK(a.generation == b.generation);
  CHECK(a.assigned == tp_list{{"orders", 0}, {"orders", 1}, {"orders", 2}});
  CHECK(b.assigned == tp_list{{"orders", 3}, {"orders", 4}, {"orders", 5}});
  auto ok = f.commit(a, a.generation, "orders", 0, 11);
  REQUIRE(ok);
  CHECK(*ok);

  auto committed = ask<std::vector<committed_offset>>(
      f.self, f.group, committed_atom::value, tp_list{{"orders", 0}, {"orders", 5}, {"orders", 1}});
  REQUIRE(committed);
  REQUIRE(committed->size() == 3);
  CHECK((*committed)[0].offset == 11);  // the refused commit left nothing behind
  CHECK((*committed)[1].offset == 10);
  CHECK((*committed)[2].offset == -1);
}

TEST_CASE("committing a partition that is not assigned to the member is refused",
          "[actors][group]") {
  group_fixture f("owner-group");
  auto a = f.join("a", "range");
  auto b = f.join("b", "range");
  f.heartbeat(a);
  REQUIRE(a.assigned == tp_list{{"orders", 0}, {"orders", 1}, {"orders", 2}});
  // orders-4 belongs to b; a batch with one foreign partition is refused whole.
  std::vector<committed_offset> mixed{{"orders", 1, 7, ""}, {"orders", 4, 9, ""}};
  auto r = ask<bool>(f.self, f.group, commit_atom::value, a.id, a.generation, mixed);
  CHECK(code_of(r) == errc::not_assigned);
  CHECK(code_of(f.commit(a, a.generation, "other-topic", 0, 1)) == errc::not_assigned);
  REQUIRE(f.commit(b, b.generation, "orders", 4, 9));

  auto committed = ask<std::vector<committed_offset>>(f.self, f.group, committed_atom::value,
                                                      tp_list{{"orders", 1}, {"orders", 4}});
  REQUIRE(committed);
  REQUIRE(committed->size() == 2);
  CHECK((*committed)[0].offset == -1);
  CHECK((*committed)[1].offset == 9);
  CHECK(code_of(f.commit(consumer{"nobody", 0, {}}, a.generation, "orders", 0, 1)) ==
        errc::unknown_member);
}
