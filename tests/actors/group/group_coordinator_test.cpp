// GROUP COORDINATOR over __consumer_offsets alone (one broker): committed
// offsets come back from the log after a restart, and compaction bounds the
// log without losing the latest offset of any group, running or dormant.

#include <catch2/catch.hpp>

#include "actors/group/offset_record.h"
#include "support/actor_fixture.h"
#include "support/temp_dir.h"

using namespace actormq;
using namespace actormq::test;

namespace {

coordinator_settings compacting() {
  coordinator_settings cs;
  cs.state_partitions = 2;
  cs.compact_interval = std::chrono::milliseconds(50);
  cs.compact_min_records = 40;
  cs.compact_ratio = 2.0;
  return cs;
}

struct member {
  group_actor group;
  std::string id;
  int32_t generation = 0;
};

member join(caf::scoped_actor& self, broker_env& env, const std::string& name) {
  auto g = ask<group_actor>(self, env.coordinator, group_atom::value, name);
  REQUIRE(g);
  group::join_request req{"", "c", "localhost", {"orders"}, 10'000};
  auto r = ask<group::join_result>(self, *g, join_atom::value, req, std::string("range"));
  REQUIRE(r);
  return {*g, r->id, r->assignment.generation()};
}

void commit(caf::scoped_actor& self, const member& m, int32_t partition, int64_t offset) {
  std::vector<committed_offset> o{{"orders", partition, offset, "m" + std::to_string(offset)}};
  auto ok = ask<bool>(self, m.group, commit_atom::value, m.id, m.generation, o);
  INFO((ok ? std::string() : text_of(ok.error())));
  REQUIRE(ok);
}

std::vector<int64_t> committed(caf::scoped_actor& self, broker_env& env, const std::string& name) {
  auto g = ask<group_actor>(self, env.coordinator, group_atom::value, name);
  REQUIRE(g);
  auto r = ask<std::vector<committed_offset>>(
      self, *g, committed_atom::value,
      std::vector<group::topic_partition>{{"orders", 0}, {"orders", 1}, {"orders", 2}});
  REQUIRE(r);
  std::vector<int64_t> out;
  for (const auto& c : *r) out.push_back(c.offset);
  return out;
}

/// The log start of the __consumer_offsets partition holding the group.
int64_t state_log_start(caf::scoped_actor& self, broker_env& env, const std::string& name) {
  auto h =
      ask<topic_handle>(self, env.registry, lookup_atom::value, std::string(group::offsets_topic));
  REQUIRE(h);
  auto p = group::state_partition_of(name, static_cast<uint32_t>(h->partitions.size()));
  auto o = ask<partition_offsets>(self, h->partitions[p], offsets_atom::value);
  REQUIRE(o);
  return o->log_start_offset;
}

}  // namespace

TEST_CASE("committed offsets come back from __consumer_offsets after a restart",
          "[actors][group][coordinator]") {
  temp_dir dir;
  {
    broker_env env(dir.path());
    env.create_topic("orders", 3);
    caf::scoped_actor self{env.sys()};
    auto m = join(self, env, "billing");
    commit(self, m, 0, 5);
    commit(self, m, 1, 7);
    commit(self, m, 0, 9);
    CHECK(committed(self, env, "billing") == std::vector<int64_t>{9, 7, -1});
  }
  broker_env env(dir.path());
  caf::scoped_actor self{env.sys()};
  auto names = ask<std::vector<std::string>>(self, env.coordinator, list_atom::value);
  REQUIRE(names);
  CHECK(*names == std::vector<std::string>{"billing"});
  CHECK(committed(self, env, "billing") == std::vector<int64_t>{9, 7, -1});
}

TEST_CASE("compaction deletes superseded commits and keeps every group's latest offsets",
          "[actors][group][coordinator]") {
  temp_dir dir;
  const std::string busy = "busy-group";
  // A group of the same state partition as busy that commits once and then
  // sleeps: its offsets must survive compactions driven by busy's commits.
  std::string quiet;
  for (int i = 0; quiet.empty(); ++i) {
    auto name = "quiet-" + std::to_string(i);
    if (group::state_partition_of(name, 2) == group::state_partition_of(busy, 2)) quiet = name;
  }
  {
    broker_env env(dir.path(), {}, compacting());
    env.create_topic("orders", 3);
    caf::scoped_actor self{env.sys()};
    auto q = join(self, env, quiet);
    commit(self, q, 2, 42);
    auto b = join(self, env, busy);
    for (int64_t i = 1; i <= 200; ++i) commit(self, b, static_cast<int32_t>(i % 3), i);
    // Running groups rewrite their own offsets: the log start moves on.
    REQUIRE(poll_until([&] { return state_log_start(self, env, busy) > 0; }));
    CHECK(committed(self, env, busy) == std::vector<int64_t>{198, 199, 200});
    CHECK(committed(self, env, quiet) == std::vector<int64_t>{-1, -1, 42});
  }
  {
    // After a restart quiet is dormant (loaded, no actor yet): the
    // coordinator rewrites its offsets itself.
    broker_env env(dir.path(), {}, compacting());
    caf::scoped_actor self{env.sys()};
    CHECK(committed(self, env, busy) == std::vector<int64_t>{198, 199, 200});
    auto before = state_log_start(self, env, busy);
    auto b = join(self, env, busy);
    for (int64_t i = 201; i <= 400; ++i) commit(self, b, static_cast<int32_t>(i % 3), i);
    REQUIRE(poll_until([&] { return state_log_start(self, env, busy) > before; }));
  }
  broker_env env(dir.path(), {}, compacting());
  caf::scoped_actor self{env.sys()};
  CHECK(committed(self, env, quiet) == std::vector<int64_t>{-1, -1, 42});
  CHECK(committed(self, env, busy) == std::vector<int64_t>{399, 400, 398});
}
