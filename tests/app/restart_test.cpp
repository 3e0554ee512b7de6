// Integration: acknowledged messages survive broker restarts.
#include <catch2/catch.hpp>

#include <set>

#include "fixtures.h"

using namespace actormq;
using namespace std::chrono_literals;

namespace {

/// Produces n messages "prefix-i" with the given acks; returns the values
/// the broker acknowledged.
std::set<std::string> produce_acked(const test::broker_process& b, const std::string& topic,
                                    const std::string& prefix, int n, client::acks a) {
  client::producer_config pc;
  pc.connection = test::connection_to(b);
  pc.acks = a;
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  std::vector<std::pair<std::string, std::future<client::delivery_report>>> fs;
  for (int i = 0; i < n; ++i) {
    auto v = prefix + "-" + std::to_string(i);
    fs.emplace_back(v, (*prod)->send(topic, std::to_string(i % 7), v));
  }
  std::set<std::string> acked;
  REQUIRE((*prod)->flush(60s));
  for (auto& [v, f] : fs) {
    REQUIRE(f.wait_for(10s) == std::future_status::ready);
    if (f.get().ok()) acked.insert(v);
  }
  return acked;
}

std::set<std::string> consume_all(const test::broker_process& b, const std::string& topic,
                                  size_t expect) {
  client::consumer_config cc;
  cc.connection = test::connection_to(b);
  cc.group_id =
      "verify-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  cc.auto_offset_reset = client::offset_reset::earliest;
  auto c = client::consumer::create(cc);
  REQUIRE(c);
  REQUIRE((*c)->subscribe({topic}));
  std::set<std::string> seen;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (seen.size() < expect && std::chrono::steady_clock::now() < deadline) {
    auto r = (*c)->poll(300ms);
    if (!r) continue;
    for (auto& m : *r) seen.insert(*m.value);
  }
  return seen;
}

}  // namespace

TEST_CASE("broker restart with SIGTERM loses no acknowledged message", "[app][restart]") {
  test::broker_process broker;
  test::require_started(broker);
  test::create_topic(broker, "durable", 4);
  auto acked = produce_acked(broker, "durable", "a", 2000, client::acks::leader);
  REQUIRE(acked.size() == 2000);
  REQUIRE(broker.restart(false));
  auto seen = consume_all(broker, "durable", acked.size());
  for (const auto& v : acked) REQUIRE(seen.count(v) == 1);
}

TEST_CASE("broker killed with SIGKILL loses no fsync acknowledged message", "[app][restart]") {
  test::broker_process broker;
  test::require_started(broker);
  test::create_topic(broker, "durable", 4);
  auto acked = produce_acked(broker, "durable", "b", 2000, client::acks::fsync);
  REQUIRE(acked.size() == 2000);
  REQUIRE(broker.restart(true));
  auto seen = consume_all(broker, "durable", acked.size());
  for (const auto& v : acked) REQUIRE(seen.count(v) == 1);
}

TEST_CASE("a producer keeps delivering across a broker restart", "[app][restart]") {
  test::broker_process broker;
  test::require_started(broker);
  test::create_topic(broker, "bounce", 2);
  client::producer_config pc;
  pc.connection = test::connection_to(broker);
  pc.acks = client::acks::fsync;
  pc.delivery_timeout_ms = 60000;
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  std::vector<std::pair<std::string, std::future<client::delivery_report>>> fs;
  for (int i = 0; i < 200; ++i) {
    auto v = "c-" + std::to_string(i);
    fs.emplace_back(v, (*prod)->send("bounce", std::nullopt, v));
    if (i == 100) REQUIRE(broker.restart(false));
  }
  REQUIRE((*prod)->flush(90s));
  std::set<std::string> acked;
  for (auto& [v, f] : fs) {
    REQUIRE(f.wait_for(10s) == std::future_status::ready);
    auto r = f.get();
    INFO(r.err.to_string());
    CHECK(r.ok());
    if (r.ok()) acked.insert(v);
  }
  auto seen = consume_all(broker, "bounce", acked.size());
  for (const auto& v : acked) REQUIRE(seen.count(v) == 1);
}
