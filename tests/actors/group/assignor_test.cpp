#include "actors/group/assignor.h"

#include <catch2/catch.hpp>

#include "actors/group/range_assignor.h"
#include "actors/group/round_robin_assignor.h"
#include "actors/group/sticky_assignor.h"

using namespace actormq::group;

namespace {

using tps = std::vector<topic_partition>;

tps parts(const std::string& topic, std::initializer_list<int32_t> ps) {
  tps out;
  for (auto p : ps) out.push_back({topic, p});
  return out;
}

std::vector<member_subscription> members(std::initializer_list<std::string> ids,
                                         std::vector<std::string> topics = {"t"}) {
  std::vector<member_subscription> out;
  for (const auto& id : ids) out.push_back({id, topics, {}});
  return out;
}

size_t total(const assignment_plan& plan) {
  size_t n = 0;
  for (const auto& [id, p] : plan) n += p.assigned.size();
  return n;
}

}  // namespace

TEST_CASE("range splits six partitions over three members in contiguous ranges") {
  range_assignor a;
  // Listed out of order: the result depends only on the sorted member ids.
  auto plan = a.assign(members({"c", "a", "b"}), {{"t", 6}});
  REQUIRE(plan.size() == 3);
  CHECK(plan["a"].assigned == parts("t", {0, 1}));
  CHECK(plan["b"].assigned == parts("t", {2, 3}));
  CHECK(plan["c"].assigned == parts("t", {4, 5}));
  CHECK(plan["a"].added == parts("t", {0, 1}));
  CHECK(plan["a"].revoked.empty());
  CHECK_FALSE(a.cooperative());
}

TEST_CASE("range gives the first members the extra partitions of every topic") {
  range_assignor a;
  auto plan = a.assign(members({"a", "b", "c"}, {"x", "y"}), {{"x", 2}, {"y", 2}});
  CHECK(plan["a"].assigned == tps{{"x", 0}, {"y", 0}});
  CHECK(plan["b"].assigned == tps{{"x", 1}, {"y", 1}});
  CHECK(plan["c"].assigned.empty());
}

TEST_CASE("round robin deals six partitions over three members in turn") {
  round_robin_assignor a;
  auto plan = a.assign(members({"b", "c", "a"}), {{"t", 6}});
  CHECK(plan["a"].assigned == parts("t", {0, 3}));
  CHECK(plan["b"].assigned == parts("t", {1, 4}));
  CHECK(plan["c"].assigned == parts("t", {2, 5}));
}

TEST_CASE("round robin deals across topics and skips members not subscribed") {
  round_robin_assignor a;
  std::vector<member_subscription> ms{{"a", {"x", "y"}, {}}, {"b", {"x"}, {}}, {"c", {"y"}, {}}};
  auto plan = a.assign(ms, {{"x", 2}, {"y", 2}});
  // x-0 a, x-1 b, y-0 c, y-1 a (b does not take y).
  CHECK(plan["a"].assigned == tps{{"x", 0}, {"y", 1}});
  CHECK(plan["b"].assigned == tps{{"x", 1}});
  CHECK(plan["c"].assigned == tps{{"y", 0}});
}

TEST_CASE("sticky keeps the partitions of the remaining members when one of three leaves") {
  sticky_assignor a;
  std::vector<member_subscription> ms{
      {"a", {"t"}, parts("t", {0, 1})},
      {"c", {"t"}, parts("t", {4, 5})},
  };  // b (2, 3) left
  auto plan = a.assign(ms, {{"t", 6}});
  CHECK(plan["a"].assigned == parts("t", {0, 1, 2}));
  CHECK(plan["c"].assigned == parts("t", {3, 4, 5}));
  CHECK(plan["a"].revoked.empty());
  CHECK(plan["c"].revoked.empty());
  CHECK(plan["a"].added == parts("t", {2}));
  CHECK(plan["c"].added == parts("t", {3}));
  CHECK(a.cooperative());
}

TEST_CASE("sticky on join moves only what is needed") {
  sticky_assignor a;
  SECTION("a fourth member takes one partition from one member") {
    std::vector<member_subscription> ms{
        {"a", {"t"}, parts("t", {0, 1})},
        {"b", {"t"}, parts("t", {2, 3})},
        {"c", {"t"}, parts("t", {4, 5})},
        {"d", {"t"}, {}},
    };
    auto plan = a.assign(ms, {{"t", 6}});
    CHECK(plan["a"].assigned == parts("t", {0}));
    CHECK(plan["a"].revoked == parts("t", {1}));
    CHECK(plan["b"].assigned == parts("t", {2, 3}));
    CHECK(plan["c"].assigned == parts("t", {4, 5}));
    CHECK(plan["b"].revoked.empty());
    CHECK(plan["c"].revoked.empty());
    CHECK(plan["d"].assigned == parts("t", {1}));
    CHECK(total(plan) == 6);
  }
  SECTION("a third member takes one partition from each of two") {
    std::vector<member_subscription> ms{
        {"a", {"t"}, parts("t", {0, 1, 2})},
        {"b", {"t"}, parts("t", {3, 4, 5})},
        {"c", {"t"}, {}},
    };
    auto plan = a.assign(ms, {{"t", 6}});
    CHECK(plan["a"].assigned == parts("t", {0, 1}));
    CHECK(plan["b"].assigned == parts("t", {3, 4}));
    CHECK(plan["c"].assigned == parts("t", {2, 5}));
    CHECK(plan["a"].revoked == parts("t", {2}));
    CHECK(plan["b"].revoked == parts("t", {5}));
  }
}

TEST_CASE("sticky drops partitions that no longer exist or are no longer subscribed") {
  sticky_assignor a;
  std::vector<member_subscription> ms{
      {"a", {"t"}, tps{{"t", 0}, {"t", 7}, {"gone", 0}}},
      {"b", {"t"}, tps{{"t", 0}, {"t", 1}}},  // t-0 is claimed by a first
  };
  auto plan = a.assign(ms, {{"t", 4}});
  CHECK(plan["a"].assigned == parts("t", {0, 2}));
  CHECK(plan["b"].assigned == parts("t", {1, 3}));
  CHECK(plan["a"].revoked == tps{{"gone", 0}, {"t", 7}});
  CHECK(plan["b"].revoked == parts("t", {0}));
}

TEST_CASE("sticky balances counts to within one from a skewed start") {
  sticky_assignor a;
  std::vector<member_subscription> ms{
      {"a", {"t"}, parts("t", {0, 1, 2, 3, 4, 5, 6})},
      {"b", {"t"}, {}},
      {"c", {"t"}, {}},
  };
  auto plan = a.assign(ms, {{"t", 8}});
  CHECK(plan["a"].assigned.size() == 3);
  CHECK(plan["b"].assigned.size() + plan["c"].assigned.size() == 5);
  CHECK(plan["b"].assigned.size() >= 2);
  CHECK(plan["c"].assigned.size() >= 2);
  // a keeps a subset of what it had.
  for (const auto& tp : plan["a"].assigned) CHECK(tp.partition < 7);
  CHECK(total(plan) == 8);
}

TEST_CASE("make assignor knows the three protocols by name") {
  CHECK(make_assignor("range")->name() == "range");
  CHECK(make_assignor("roundrobin")->name() == "roundrobin");
  CHECK(make_assignor("sticky")->name() == "sticky");
  CHECK(make_assignor("cooperative-magic") == nullptr);
}
