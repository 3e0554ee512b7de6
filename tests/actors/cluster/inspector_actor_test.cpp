// The INSPECTOR over a real broker's actors (registry, partitions,
// flushers, coordinator): what it reports and how it bounds a silent actor.

#include "actors/cluster/inspector_actor.h"

#include <catch2/catch.hpp>

#include <algorithm>

#include "support/actor_fixture.h"
#include "support/temp_dir.h"

using namespace actormq;
using namespace actormq::test;

namespace {

const actor_report* find_actor(const broker_report& r, const std::string& path) {
  for (const auto& a : r.actors) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

const metric_sample* find_sample(const std::vector<metric_sample>& ms, const std::string& name,
                                 const std::string& label, const std::string& value) {
  for (const auto& m : ms) {
    if (m.name != name) continue;
    for (const auto& l : m.labels) {
      if (l.name == label && l.value == value) return &m;
    }
  }
  return nullptr;
}

/// Registry settings whose partitions and flushers are listed in dir.
registry_settings listed_in(const std::shared_ptr<actor_directory>& dir) {
  registry_settings rs;
  rs.directory = dir;
  return rs;
}

/// An actor that takes every inspection and never answers it. (The unused
/// argument: CAF 0.17 dereferences a null argument tuple when a function
/// actor is spawned without arguments.)
caf::behavior silent_actor(caf::event_based_actor* self, int) {
  return {
      [self](inspect_atom) { return self->make_response_promise<actor_report>(); },
  };
}

}  // namespace

TEST_CASE("the inspector reports each partition's offsets, its actor's counters and metrics",
          "[inspector]") {
  temp_dir dir;
  auto directory = std::make_shared<actor_directory>();
  coordinator_settings cs;
  cs.directory = directory;
  broker_env env(dir.path(), listed_in(directory), cs);
  auto topic = env.create_topic("orders", 2);
  caf::scoped_actor self{env.sys()};
  for (int i = 0; i < 3; ++i) {
    REQUIRE(ask<produce_reply>(self, topic.partitions[0], produce_atom::value,
                               make_produce({"a", "b"})));
  }
  inspector_settings is;
  is.directory = directory;
  is.broker_id = 0;
  is.address = "127.0.0.1:1";
  is.broker_metrics = [](std::vector<metric_sample>& out) {
    add_metric(out, "actormq_connections", {}, 7);
  };
  auto inspector = spawn_inspector(env.sys(), is);
  auto report = ask<broker_report>(self, inspector, inspect_atom::value);
  REQUIRE(report);
  CHECK(report->up);
  CHECK(report->address == "127.0.0.1:1");
  CHECK(report->taken_at_ms > 0);
  REQUIRE(report->metrics.size() == 1);
  CHECK(report->metrics[0].value == 7);
  // Sorted by path, every actor answered.
  CHECK(
      std::is_sorted(report->actors.begin(), report->actors.end(),
                     [](const actor_report& a, const actor_report& b) { return a.path < b.path; }));
  for (const auto& a : report->actors) CHECK((a.answered || a.path.empty()));

  auto* p0 = find_actor(*report, "partition/orders/0");
  REQUIRE(p0 != nullptr);
  CHECK(p0->kind == "partition");
  CHECK(p0->answered);
  CHECK(p0->handled >= 3);  // three produces, then the inspection itself
  CHECK(p0->state_json.find("\"log_end_offset\":6") != std::string::npos);
  CHECK(p0->state_json.find("\"topic\":\"orders\"") != std::string::npos);
  CHECK(p0->summary.find("log 0..6") != std::string::npos);
  auto* end = find_sample(p0->metrics, "actormq_partition_log_end_offset", "topic", "orders");
  REQUIRE(end != nullptr);
  CHECK(end->value == 6);
  auto* p1 = find_actor(*report, "partition/orders/1");
  REQUIRE(p1 != nullptr);
  CHECK(p1->state_json.find("\"log_end_offset\":0") != std::string::npos);
  // The registry's flushers are listed too.
  CHECK(find_actor(*report, "flusher/0") != nullptr);
  caf::anon_send_exit(inspector, caf::exit_reason::user_shutdown);
}

TEST_CASE("an actor that does not answer in time is reported as such, and the rest still are",
          "[inspector]") {
  temp_dir dir;
  auto directory = std::make_shared<actor_directory>();
  broker_env env(dir.path(), listed_in(directory));
  env.create_topic("t", 1);
  auto silent = env.sys().spawn(silent_actor, 0);
  directory->enlist(silent, "silent", "test");
  inspector_settings is;
  is.directory = directory;
  is.timeout = std::chrono::milliseconds(200);
  auto inspector = spawn_inspector(env.sys(), is);
  caf::scoped_actor self{env.sys()};
  auto started = std::chrono::steady_clock::now();
  auto report = ask<broker_report>(self, inspector, inspect_atom::value);
  auto took = std::chrono::steady_clock::now() - started;
  REQUIRE(report);
  CHECK(took < std::chrono::seconds(5));
  auto* s = find_actor(*report, "silent");
  REQUIRE(s != nullptr);
  CHECK_FALSE(s->answered);
  CHECK(s->error == "no answer within 200 ms");
  auto* p = find_actor(*report, "partition/t/0");
  REQUIRE(p != nullptr);
  CHECK(p->answered);
  caf::anon_send_exit(silent, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(inspector, caf::exit_reason::user_shutdown);
}

TEST_CASE("an actor that exits leaves the directory by itself", "[inspector]") {
  temp_dir dir;
  broker_env env(dir.path());
  auto directory = std::make_shared<actor_directory>();
  auto a = env.sys().spawn(silent_actor, 0);
  directory->enlist(a, "gone-soon", "test");
  CHECK(directory->size() == 1);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  a = nullptr;
  CHECK(poll_until([&] { return directory->size() == 0; }, std::chrono::seconds(10)));
}

TEST_CASE("a single broker answers for the cluster with its own report alone", "[inspector]") {
  temp_dir dir;
  auto directory = std::make_shared<actor_directory>();
  broker_env env(dir.path(), listed_in(directory));
  env.create_topic("t", 1);
  inspector_settings is;
  is.directory = directory;
  is.broker_id = 0;
  auto inspector = spawn_inspector(env.sys(), is);
  caf::scoped_actor self{env.sys()};
  auto all = ask<std::vector<broker_report>>(self, inspector, inspect_atom::value, all_atom::value);
  REQUIRE(all);
  REQUIRE(all->size() == 1);
  CHECK((*all)[0].up);
  CHECK(find_actor((*all)[0], "partition/t/0") != nullptr);
  caf::anon_send_exit(inspector, caf::exit_reason::user_shutdown);
}

TEST_CASE("asked one actor at a time, the inspector still reports every actor, a silent one once",
          "[inspector]") {
  temp_dir dir;
  auto directory = std::make_shared<actor_directory>();
  broker_env env(dir.path(), listed_in(directory));
  env.create_topic("t", 3);
  auto silent = env.sys().spawn(silent_actor, 0);
  directory->enlist(silent, "a-silent", "test");  // sorted first: it holds the one slot first
  inspector_settings is;
  is.directory = directory;
  is.timeout = std::chrono::milliseconds(200);
  is.max_in_flight = 1;
  auto inspector = spawn_inspector(env.sys(), is);
  caf::scoped_actor self{env.sys()};
  // The broker keeps spawning actors (its internal topics' partitions): the
  // report holds at least every actor listed before the question.
  auto before = directory->snapshot();
  auto report = ask<broker_report>(self, inspector, inspect_atom::value);
  REQUIRE(report);
  CHECK(report->actors.size() >= before.size());
  for (const auto& e : before) CHECK(find_actor(*report, e.path) != nullptr);
  size_t unanswered = 0;
  for (const auto& a : report->actors) {
    if (!a.answered) ++unanswered;
  }
  CHECK(unanswered == 1);
  for (int p = 0; p < 3; ++p) {
    auto* a = find_actor(*report, "partition/t/" + std::to_string(p));
    REQUIRE(a != nullptr);
    CHECK(a->answered);
  }
  caf::anon_send_exit(silent, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(inspector, caf::exit_reason::user_shutdown);
}
