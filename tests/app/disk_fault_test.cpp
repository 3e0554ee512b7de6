// Integration: disk faults under the real broker, injected through
// ACTORMQ_FAULTS_FILE (storage/fault_injector.h), so they run without root.
// A full disk under one topic is a clear error to its producers, the other
// topics keep serving, nothing acknowledged is lost, and produce works
// again once space is back, without a restart.

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "fixtures.h"
#include "support/eventually.h"
#include "support/temp_dir.h"

using namespace actormq;
using namespace std::chrono_literals;

namespace {

client::delivery_report send_one(client::producer& p, const std::string& topic,
                                 const std::string& value) {
  return p.send_sync({topic, value, value, {}, std::nullopt, std::nullopt});
}

std::set<std::string> values_of(const test::broker_process& b, const std::string& topic,
                                size_t expect) {
  auto c = client::consumer::create(test::group_config(b, "verify-" + topic));
  REQUIRE(c);
  REQUIRE((*c)->subscribe({topic}));
  std::set<std::string> seen;
  for (auto& m : test::consume_n(**c, expect, 20s)) seen.insert(*m.value);
  // Nothing more arrives (a refused record must not show up later).
  auto more = (*c)->poll(500ms);
  if (more) {
    for (auto& m : *more) seen.insert(*m.value);
  }
  return seen;
}

}  // namespace

TEST_CASE(
    "a full disk under one topic is a clear error to its producers while other topics keep "
    "serving, and produce resumes once space is back",
    "[app][faults]") {
  test::temp_dir dir{"disk-faults"};
  const auto rules = dir.path() / "faults";
  test::broker_process broker;
  broker.set_env("ACTORMQ_FAULTS_FILE", rules.string());
  test::require_started(broker);
  test::create_topic(broker, "full", 1);
  test::create_topic(broker, "fine", 1);

  client::producer_config pc;
  pc.connection = test::connection_to(broker);
  pc.retries = 0;  // see the broker's answer, not the client's retries
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  std::set<std::string> acked_full, acked_fine;
  for (int i = 0; i < 5; ++i) {
    REQUIRE(send_one(**prod, "full", "before-" + std::to_string(i)).ok());
    acked_full.insert("before-" + std::to_string(i));
  }

  std::ofstream(rules) << "write ENOSPC path=/topics/full/\n";
  // Picked up on a file operation within 50 ms: the next produce to full
  // (at the latest the one after) meets the full disk.
  client::delivery_report refused;
  REQUIRE(test::eventually(
      [&] {
        refused = send_one(**prod, "full", "refused");
        if (refused.ok()) acked_full.insert("refused");
        return !refused.ok();
      },
      10s));
  INFO(refused.err.to_string());
  CHECK(refused.err.is(client::errc::disk_full));
  // The other topic is served throughout.
  for (int i = 0; i < 5; ++i) {
    auto r = send_one(**prod, "fine", "fine-" + std::to_string(i));
    REQUIRE(r.ok());
    acked_fine.insert("fine-" + std::to_string(i));
  }
  CHECK_FALSE(send_one(**prod, "full", "refused-again").ok());

  std::filesystem::remove(rules);  // space is back
  REQUIRE(test::eventually([&] { return send_one(**prod, "full", "after").ok(); }, 10s));
  acked_full.insert("after");

  auto full = values_of(broker, "full", acked_full.size());
  CHECK(full == acked_full);
  CHECK(values_of(broker, "fine", acked_fine.size()) == acked_fine);
  CHECK(broker.output().find("injected fault: write ENOSPC") != std::string::npos);
}
