// The checker's scenarios (app/checker/scenario_runner) run in the suite
// with one fault round each against a real cluster of 3 brokers; the tool's
// default is 10 rounds (scripts/checker.sh). Each takes 6-15 s (Debug): they are
// labelled "long" in ctest.

#include "scenario_runner.h"

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <functional>
#include <random>

#include "support/temp_dir.h"

namespace {

using actormq::checker::scenario_runner;
using actormq::checker::scenario_settings;

/// Runs one round of a scenario (settings changed by adjust, if given).
void run_scenario(const std::string& name,
                  const std::function<void(scenario_settings&)>& adjust = {}) {
  actormq::test::temp_dir dir("actormq-checker-test");
  scenario_settings s;
  s.cluster.bin_dir = ACTORMQ_BROKER_DIR;
  s.cluster.work_dir = dir.path() / name;
  s.cluster.lease_ttl_ms = 2000;
  s.cluster.replica_lag_ms = 2000;
  s.seed = std::random_device{}() | 1;
  s.rounds = 1;
  s.partitions = 2;
  s.producers = 2;
  s.send_interval = std::chrono::milliseconds(10);
  if (adjust) adjust(s);
  auto r = scenario_runner(name, s).run();
  INFO(r.summary());
  // Every failure and problem with every assertion below (UNSCOPED_INFO
  // would go with the first one only).
  std::string why;
  for (const auto& f : r.failures) why += "\nfailure: " + f;
  for (const auto& p : r.check.problems) why += "\nproblem: " + p;
  INFO(why);
  CHECK(r.check.acked > 0);
  CHECK(r.check.read >= r.check.acked);
  CHECK(r.ok());
}

}  // namespace

TEST_CASE("kill-leader: a SIGKILLed leader loses no acknowledged message", "[long]") {
  run_scenario("kill-leader");
}

TEST_CASE("pause-follower: a frozen follower leaves the in-sync set and rejoins", "[long]") {
  run_scenario("pause-follower");
}

TEST_CASE("pause-leader: a leader frozen past its lease is replaced and loses nothing", "[long]") {
  run_scenario("pause-leader");
}

TEST_CASE("kill-two: with one broker of three nothing is acknowledged and nothing lost", "[long]") {
  run_scenario("kill-two");
}

TEST_CASE("etcd-down: produce and consume go on without etcd and elections resume", "[long]") {
  run_scenario("etcd-down");
}

TEST_CASE("restart-all: a full cluster restart keeps every acknowledged message", "[long]") {
  run_scenario("restart-all");
}

TEST_CASE(
    "kill-coordinator: a group whose coordinator is SIGKILLed skips nothing and never goes back",
    "[long]") {
  run_scenario("kill-coordinator");
}

TEST_CASE(
    "kill-txn-coordinator: transactions whose coordinator is SIGKILLed keep exactly their one "
    "outcome",
    "[long]") {
  run_scenario("kill-txn-coordinator");
}

// 600 delayed messages over 15 s, one kill. The suite runs under ASan on 2
// cores, where scheduling and delivering are slow: 2000 over 15 s were
// acknowledged at 100-150 per second (a third after their due time) and
// delivered seconds late. With 600, under ASan on a loaded 2-core machine:
// failover 0.8 s, lateness p99 0.9 s outside it, 29 s in all. So the bound
// here is 2 s (the tool's default, 50 ms, is for Release); it still catches
// a delivery that is stuck (as one was for 30 s behind a batch in flight to
// a SIGKILLed target leader, until the DELAY SCHEDULE actor sent such a
// batch again on a leader change or after 2 s).

TEST_CASE(
    "kill-delay-owner: delayed messages whose schedule owner is SIGKILLed each arrive once, not "
    "early and late by at most the failover",
    "[long]") {
  run_scenario("kill-delay-owner", [](scenario_settings& s) {
    s.delayed = 600;
    s.delay_window = std::chrono::seconds(15);
    s.delay_lead = std::chrono::seconds(5);
    s.delay_partitions = 4;
    s.delay_bound_ms = 2000;
  });
}

// 200 values over 6 s (a fifth of them nacked until dead-lettered, the rest
// nacked 0-2 times), one kill of the group's coordinator while retries are
// pending. Kept small for ASan on 2 cores: the consumer nacks one message
// at a time, each nack a durable write on __delay_schedule (about 30 a
// second in Debug); 300 over 8 s took 17 s in Debug.

TEST_CASE(
    "kill-retry-owner: nacked messages whose group coordinator is SIGKILLed are each acked after "
    "their retries or dead-lettered with their own headers",
    "[long]") {
  run_scenario("kill-retry-owner", [](scenario_settings& s) {
    s.retry_messages = 200;
    s.retry_window = std::chrono::seconds(6);
  });
}

TEST_CASE(
    "kill-single: twenty SIGKILLs of a lone broker under acks fsync lose no acknowledged message",
    "[long]") {
  // The bounded kill storm of issue 16 (the 100-round one is
  // scripts/checker.sh kill-single --rounds 100, docs/reliability.md), on
  // 8 KiB segments (some 150 messages each): every round's kill lands among rolls whose closed
  // segments wait for the flusher (issue 19, storage/recovery_point.h).
  run_scenario("kill-single", [](scenario_settings& s) {
    s.rounds = 20;
    s.segment_bytes = 8 << 10;
  });
}
