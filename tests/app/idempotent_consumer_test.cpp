// Integration: the idempotent consumer example (app/examples) against the
// real broker: SIGKILLed after processing a message and before committing
// its offset, it is restarted, the group redelivers, and every message
// is applied once (file store and SQLite store).
#include <catch2/catch.hpp>

#include <map>
#include <sstream>

#include "fixtures.h"
#include "subprocess.h"

#ifndef ACTORMQ_IDEMPOTENT_CONSUMER_BIN
#error "ACTORMQ_IDEMPOTENT_CONSUMER_BIN must name the example binary"
#endif

using namespace actormq;
using namespace std::chrono_literals;

namespace {

test::subprocess_result run_example(const test::broker_process& b, const std::string& store,
                                    const std::string& state, std::vector<std::string> extra) {
  std::vector<std::string> argv = {ACTORMQ_IDEMPOTENT_CONSUMER_BIN,
                                   "--broker",
                                   b.address(),
                                   "--topic",
                                   "orders",
                                   "--group",
                                   "billing",
                                   "--store",
                                   store,
                                   "--state",
                                   state};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return test::run_subprocess(argv, {}, 60s);
}

void check_redelivery_skipped(const std::string& store) {
  test::broker_process broker;
  test::require_started(broker);
  test::create_topic(broker, "orders", 1);
  auto ids = test::produce_values(broker, "orders", 40, "order-");
  test::temp_dir state("actormq-idem");
  // Killed right after applying the 15th message: none of the first batch
  // is committed, so the group sends them all again.
  auto crashed = run_example(broker, store, state.path().string(), {"--crash-after", "15"});
  INFO(crashed.err);
  REQUIRE(crashed.exit_code == -SIGKILL);
  auto done = run_example(broker, store, state.path().string(),
                          {"--expect", "40", "--timeout-ms", "15000"});
  INFO(done.err);
  REQUIRE(done.exit_code == 0);
  unsigned long long processed = 0, skipped = 0;
  REQUIRE(std::sscanf(done.out.c_str(), "processed %llu skipped %llu", &processed, &skipped) == 2);
  CHECK(processed == 25);  // the 25 the first run did not reach
  CHECK(skipped >= 15);    // its 15 came again and were skipped
  // Every order applied exactly once, under its producer's message id.
  auto dump = run_example(broker, store, state.path().string(), {"--dump"});
  REQUIRE(dump.exit_code == 0);
  std::map<std::string, int> applied;
  std::istringstream in(dump.out);
  for (std::string id, value; in >> id >> value;) {
    ++applied[id];
    CHECK(value.rfind("order-", 0) == 0);
  }
  CHECK(applied.size() == 40);
  for (const auto& id : ids) CHECK(applied[id.to_string()] == 1);
}

}  // namespace

TEST_CASE(
    "the idempotent consumer with the file store skips what it processed before a SIGKILL "
    "between processing and commit",
    "[app][idempotence]") {
  check_redelivery_skipped("file");
}

TEST_CASE(
    "the idempotent consumer with a SQLite store applies each message once across a SIGKILL "
    "between processing and commit",
    "[app][idempotence]") {
  check_redelivery_skipped("sqlite");
}
