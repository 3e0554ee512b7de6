// TOPIC REGISTRY actor: topics and their data survive a clean restart,
// supervision restarts a killed partition, create/delete/grow.

#include <spdlog/sinks/ringbuffer_sink.h>
#include <catch2/catch.hpp>

#include "actors/logger.h"
#include "storage/fault_injector.h"
#include "storage/logger.h"

#include "support/actor_fixture.h"
#include "support/temp_dir.h"

using namespace actormq;
using namespace actormq::test;

namespace {

/// Produces one batch of values to partition p of a handle; returns its reply.
produce_reply produce_to(caf::scoped_actor& self, const topic_handle& h, uint32_t p,
                         const std::vector<std::string>& values) {
  auto r = ask<produce_reply>(self, h.partitions.at(p), produce_atom::value, make_produce(values));
  REQUIRE(r);
  return *r;
}

std::vector<std::string> values_for(const std::string& topic, uint32_t p, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back(topic + "/" + std::to_string(p) + "#" + std::to_string(i));
  return out;
}

}  // namespace

TEST_CASE("topics with their data and committed offsets survive a clean broker restart",
          "[actors][topic][restart]") {
  temp_dir dir;
  group::join_request join{"", "c1", "host", {"orders"}, 10'000};
  std::string member;
  {
    broker_env env(dir.path());
    auto orders = env.create_topic("orders", 3);
    topic_config audit_cfg;
    audit_cfg.retention_ms = -1;
    audit_cfg.flush_messages = 1;
    env.create_topic("audit", 1, audit_cfg);
    caf::scoped_actor self{env.sys()};
    for (uint32_t p = 0; p < 3; ++p) {
      auto r = produce_to(self, orders, p, values_for("orders", p, static_cast<int>(p) + 2));
      CHECK(r.base_offset == 0);
    }
    auto audit = ask<topic_handle>(self, env.registry, lookup_atom::value, std::string("audit"));
    REQUIRE(audit);
    produce_to(self, *audit, 0, values_for("audit", 0, 5));

    // One member owns all three partitions and commits offsets for them.
    auto g = ask<group_actor>(self, env.coordinator, group_atom::value, std::string("billing"));
    REQUIRE(g);
    auto joined = ask<group::join_result>(self, *g, join_atom::value, join, std::string("range"));
    REQUIRE(joined);
    member = joined->id;
    REQUIRE(joined->assignment.assigned.size() == 3);
    std::vector<committed_offset> offsets{
        {"orders", 0, 2, "m0"}, {"orders", 1, 1, ""}, {"orders", 2, 4, "end"}};
    auto ok =
        ask<bool>(self, *g, commit_atom::value, member, joined->assignment.generation(), offsets);
    REQUIRE(ok);
    CHECK(*ok);
  }  // shuts the broker down as app/broker/main.cpp does (close_atom), waits for every actor

  broker_env env(dir.path());
  caf::scoped_actor self{env.sys()};
  auto topics = ask<std::vector<topic_handle>>(self, env.registry, list_atom::value);
  REQUIRE(topics);
  // The broker's own topics (__consumer_offsets) aside.
  std::erase_if(*topics, [](const topic_handle& h) { return h.name.starts_with("__"); });
  REQUIRE(topics->size() == 2);
  const auto& audit = (*topics)[0];
  const auto& orders = (*topics)[1];
  CHECK(audit.name == "audit");
  CHECK(audit.config.partitions == 1);
  CHECK(audit.config.retention_ms == -1);
  CHECK(audit.config.flush_messages == 1);
  REQUIRE(audit.partitions.size() == 1);
  CHECK(orders.name == "orders");
  CHECK(orders.config.partitions == 3);
  REQUIRE(orders.partitions.size() == 3);

  // Every record is back at its offset.
  auto audit_records = read_partition(self, audit.partitions[0]);
  CHECK(values_of(audit_records) == values_for("audit", 0, 5));
  CHECK(audit_records.back().offset == 4);
  for (uint32_t p = 0; p < 3; ++p) {
    INFO("orders partition " << p);
    auto records = read_partition(self, orders.partitions[p]);
    CHECK(values_of(records) == values_for("orders", p, static_cast<int>(p) + 2));
    CHECK(records.front().offset == 0);
    CHECK(records.back().offset == static_cast<int64_t>(p) + 1);
  }
  // New appends continue after the recovered data.
  CHECK(produce_to(self, orders, 1, {"more"}).base_offset == 3);

  // The group is known again and its committed offsets are restored.
  auto groups = ask<std::vector<std::string>>(self, env.coordinator, list_atom::value);
  REQUIRE(groups);
  CHECK(*groups == std::vector<std::string>{"billing"});
  auto g = ask<group_actor>(self, env.coordinator, group_atom::value, std::string("billing"));
  REQUIRE(g);
  std::vector<group::topic_partition> tps{
      {"orders", 0}, {"orders", 1}, {"orders", 2}, {"audit", 0}};
  auto committed = ask<std::vector<committed_offset>>(self, *g, committed_atom::value, tps);
  REQUIRE(committed);
  REQUIRE(committed->size() == 4);
  CHECK((*committed)[0].offset == 2);
  CHECK((*committed)[0].metadata == "m0");
  CHECK((*committed)[1].offset == 1);
  CHECK((*committed)[2].offset == 4);
  CHECK((*committed)[2].metadata == "end");
  CHECK((*committed)[3].offset == -1);

  // Members do not survive a restart: the old id must join again.
  auto hb = ask<group::heartbeat_result>(self, *g, heartbeat_atom::value, member, int32_t{1});
  CHECK(code_of(hb) == errc::unknown_member);
}

TEST_CASE("a killed partition actor is restarted by the registry and serves its recovered data",
          "[actors][topic][supervision]") {
  temp_dir dir;
  broker_env env(dir.path());
  auto h = env.create_topic("events", 2);
  caf::scoped_actor self{env.sys()};
  produce_to(self, h, 1, {"e0", "e1"});
  produce_to(self, h, 1, {"e2"});
  produce_to(self, h, 0, {"other"});

  auto old = h.partitions[1];
  REQUIRE(stop_and_wait(env.sys(), caf::actor_cast<caf::actor>(old), caf::exit_reason::kill));

  // The registry notices the down message and starts a new actor over the
  // same directory; nothing announces that to us, so poll the lookup.
  topic_handle now;
  bool restarted = poll_until([&] {
    auto l = ask<topic_handle>(self, env.registry, lookup_atom::value, std::string("events"));
    if (!l || l->partitions.size() != 2 || l->partitions[1] == old) return false;
    now = *l;
    return true;
  });
  REQUIRE(restarted);
  CHECK(now.partitions[0] == h.partitions[0]);  // its sibling was left alone
  CHECK(read_partition(self, now.partitions[1]) == std::vector<record>{{0, std::nullopt, "e0"},
                                                                       {1, std::nullopt, "e1"},
                                                                       {2, std::nullopt, "e2"}});
  CHECK(produce_to(self, now, 1, {"e3"}).base_offset == 3);
  CHECK(values_of(read_partition(self, now.partitions[0])) == std::vector<std::string>{"other"});
  // The old handle is dead: requests to it fail rather than hang.
  auto stale = ask<partition_offsets>(self, old, offsets_atom::value);
  CHECK_FALSE(stale);
}

TEST_CASE(
    "a partition whose reopen fails waits for its restart without blocking a delete and a "
    "create of the same name",
    "[actors][topic][supervision]") {
  temp_dir dir;
  broker_env env(dir.path());
  auto h = env.create_topic("events", 1);
  caf::scoped_actor self{env.sys()};
  produce_to(self, h, 0, {"e0"});
  // Every open under the topic fails: the restart after the kill fails, and
  // the registry waits out a backoff before it tries again.
  storage::fault_rule r;
  r.op = storage::fault_op::open;
  r.error = EIO;
  r.path = "/topics/events/";
  storage::fault_injector::instance().arm(r);
  auto old = h.partitions[0];
  REQUIRE(stop_and_wait(env.sys(), caf::actor_cast<caf::actor>(old), caf::exit_reason::kill));
  bool stopped = poll_until([&] {
    auto rep = ask<actor_report>(self, env.registry, inspect_atom::value);
    return rep && rep->state_json.find("\"stopped_partitions\":1") != std::string::npos &&
           rep->state_json.find("why_stopped") != std::string::npos;
  });
  storage::fault_injector::instance().disarm();
  REQUIRE(stopped);
  // The stopped partition reports no down message again: the delete does
  // not wait for one, and the name is free at once.
  auto del = ask<bool>(self, env.registry, delete_atom::value, std::string("events"));
  REQUIRE(del);
  topic_config cfg;
  cfg.partitions = 1;
  auto again =
      ask<topic_handle>(self, env.registry, create_atom::value, std::string("events"), cfg);
  INFO(text_of(again.error()));
  REQUIRE(again);
  CHECK(read_partition(self, again->partitions[0]).empty());
}

TEST_CASE(
    "a failed fdatasync restarts the partition, whose reopen recovers and serves every batch "
    "written",
    "[actors][topic][supervision]") {
  temp_dir dir;
  broker_env env(dir.path());
  auto h = env.create_topic("events", 1);
  caf::scoped_actor self{env.sys()};
  produce_to(self, h, 0, {"e0", "e1"});
  storage::fault_rule r;
  r.op = storage::fault_op::sync;
  r.error = EIO;
  r.path = "/topics/events/";
  r.count = 1;
  storage::fault_injector::instance().arm(r);
  auto req = make_produce({"e2"});
  req.acks = acks_level::fsync;
  auto failed = ask<produce_reply>(self, h.partitions[0], produce_atom::value, req);
  storage::fault_injector::instance().disarm();
  REQUIRE_FALSE(failed);
  CHECK(code_of(failed) == errc::storage_error);
  topic_handle now;
  REQUIRE(poll_until([&] {
    auto l = ask<topic_handle>(self, env.registry, lookup_atom::value, std::string("events"));
    if (!l || l->partitions[0] == h.partitions[0]) return false;
    now = *l;
    return true;
  }));
  // e2 was written but not synced: the reopen keeps it (the page cache has
  // it here), and appends go on after it.
  CHECK(values_of(read_partition(self, now.partitions[0])) ==
        std::vector<std::string>{"e0", "e1", "e2"});
  CHECK(produce_to(self, now, 0, {"e3"}).base_offset == 3);
}

TEST_CASE("topic names are validated and a topic cannot be created twice", "[actors][topic]") {
  temp_dir dir;
  broker_env env(dir.path());
  caf::scoped_actor self{env.sys()};
  auto create = [&](const std::string& name, uint32_t partitions) {
    topic_config cfg;
    cfg.partitions = partitions;
    return ask<topic_handle>(self, env.registry, create_atom::value, name, cfg);
  };
  CHECK(code_of(create("bad/name", 1)) == errc::invalid_topic);
  CHECK(code_of(create("__internal", 1)) == errc::invalid_topic);
  CHECK(code_of(create("zero", 0)) == errc::invalid_topic);
  auto t = create("t", 2);
  REQUIRE(t);
  CHECK(t->name == "t");
  CHECK(t->config.partitions == 2);
  CHECK(produce_to(self, *t, 1, {"v"}).base_offset == 0);
  CHECK(code_of(create("t", 2)) == errc::topic_exists);
  // The refused create left the existing topic and its data alone.
  auto again = ask<topic_handle>(self, env.registry, lookup_atom::value, std::string("t"));
  REQUIRE(again);
  CHECK(read_partition(self, again->partitions[1]) == std::vector<record>{{0, std::nullopt, "v"}});
  CHECK(code_of(ask<topic_handle>(self, env.registry, lookup_atom::value, std::string("nope"))) ==
        errc::unknown_topic);
}

TEST_CASE("a deleted topic is gone from disk and can be created again empty", "[actors][topic]") {
  temp_dir dir;
  broker_env env(dir.path());
  auto h = env.create_topic("gone", 2);
  caf::scoped_actor self{env.sys()};
  produce_to(self, h, 0, {"x"});
  auto removed = ask<bool>(self, env.registry, delete_atom::value, std::string("gone"));
  REQUIRE(removed);
  CHECK(*removed);
  CHECK(code_of(ask<topic_handle>(self, env.registry, lookup_atom::value, std::string("gone"))) ==
        errc::unknown_topic);
  CHECK(code_of(ask<bool>(self, env.registry, delete_atom::value, std::string("gone"))) ==
        errc::unknown_topic);
  // The directory is renamed away at once and removed once its partitions stopped.
  CHECK_FALSE(fs::exists(dir.path() / "topics" / "gone"));
  CHECK(poll_until([&] {
    for (const auto& e : fs::directory_iterator(dir.path() / "topics")) {
      if (e.path().filename().string().starts_with("gone")) return false;
    }
    return true;
  }));
  auto again = env.create_topic("gone", 1);
  auto offs = ask<partition_offsets>(self, again.partitions[0], offsets_atom::value);
  REQUIRE(offs);
  CHECK(offs->high_watermark == 0);
}

TEST_CASE(
    "deleting a topic logs no error: its partitions close without writing to the moved "
    "directory",
    "[actors][topic]") {
  // Found by the rpc fuzzer: the registry moves the directory away before
  // it stops the partitions, whose close then wrote the clean-shutdown
  // marker, snapshot and indexes to paths that were gone (an ERROR per
  // partition on every delete).
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
  sink->set_level(spdlog::level::warn);
  actor_log().sinks().push_back(sink);  // before any actor thread logs
  storage::logger().sinks().push_back(sink);
  {
    temp_dir dir;
    broker_env env(dir.path());
    auto h = env.create_topic("brief", 3);
    caf::scoped_actor self{env.sys()};
    for (uint32_t p = 0; p < 3; ++p) produce_to(self, h, p, {"a", "b"});
    REQUIRE(ask<bool>(self, env.registry, delete_atom::value, std::string("brief")));
    CHECK(poll_until([&] {
      for (const auto& e : fs::directory_iterator(dir.path() / "topics")) {
        if (e.path().filename().string().starts_with("brief")) return false;
      }
      return true;
    }));
    // Once its partitions have closed the name is free (before, busy).
    auto again = env.create_topic("brief", 1);
    CHECK(produce_to(self, again, 0, {"new"}).base_offset == 0);
  }  // every actor thread has stopped
  actor_log().sinks().pop_back();
  storage::logger().sinks().pop_back();
  auto lines = sink->last_formatted();
  for (const auto& l : lines) UNSCOPED_INFO(l);
  CHECK(lines.empty());
}

TEST_CASE("growing a topic adds partitions and keeps the data of the existing ones",
          "[actors][topic]") {
  temp_dir dir;
  broker_env env(dir.path());
  auto h = env.create_topic("grow", 2);
  caf::scoped_actor self{env.sys()};
  produce_to(self, h, 1, {"kept"});
  CHECK(code_of(ask<topic_handle>(self, env.registry, grow_atom::value, std::string("grow"),
                                  uint32_t{2})) == errc::invalid_topic);
  auto grown =
      ask<topic_handle>(self, env.registry, grow_atom::value, std::string("grow"), uint32_t{4});
  REQUIRE(grown);
  REQUIRE(grown->partitions.size() == 4);
  CHECK(grown->config.partitions == 4);
  CHECK(grown->partitions[1] == h.partitions[1]);
  CHECK(values_of(read_partition(self, grown->partitions[1])) == std::vector<std::string>{"kept"});
  CHECK(produce_to(self, *grown, 3, {"new"}).base_offset == 0);
}
