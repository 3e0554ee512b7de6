// Integration: consumer groups against the real broker.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>

#include "fixtures.h"

using namespace actormq;
using namespace std::chrono_literals;

TEST_CASE("per key order holds across 8 partitions with 2 group members", "[app][group]") {
  test::broker_process broker;
  test::require_started(broker);
  test::create_topic(broker, "events", 8);

  constexpr int keys = 16;
  constexpr int per_key = 100;
  client::producer_config pc;
  pc.connection = test::connection_to(broker);
  pc.linger_ms = 2;
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  std::atomic<int> failed{0};
  for (int i = 0; i < per_key; ++i) {
    for (int k = 0; k < keys; ++k) {
      (*prod)->send(client::producer_record{"events",
                                            "key" + std::to_string(k),
                                            std::to_string(i),
                                            {},
                                            std::nullopt,
                                            std::nullopt},
                    [&failed](const client::delivery_report& r) {
                      if (!r.ok()) ++failed;
                    });
    }
  }
  REQUIRE((*prod)->flush(60s));
  REQUIRE(failed == 0);

  // Two members consume concurrently; each commits after every poll.
  struct seen {
    std::string key;
    int seq;
    uint32_t partition;
    int64_t offset;
  };
  std::mutex mu;
  std::map<std::pair<uint32_t, int64_t>, seen> all;  // deduplicated by (partition, offset)
  std::vector<std::string> problems;
  std::atomic<bool> done{false};
  auto member = [&](int id) {
    auto c = client::consumer::create(test::group_config(broker, "order-group"));
    if (!c) {
      std::lock_guard lk(mu);
      problems.push_back("member " + std::to_string(id) + ": " + c.err().to_string());
      return;
    }
    if (!(*c)->subscribe({"events"})) return;
    std::map<uint32_t, int64_t> last_offset;  // per partition, within this member
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!done && std::chrono::steady_clock::now() < deadline) {
      auto r = (*c)->poll(200ms);
      if (!r) continue;
      std::lock_guard lk(mu);
      for (const auto& m : *r) {
        auto it = last_offset.find(m.partition);
        // Within one assignment stint offsets only grow; a rebalance may
        // move back to the committed offset (duplicates), never skip.
        if (it != last_offset.end() && m.offset != it->second + 1 && m.offset > it->second) {
          problems.push_back("gap on partition " + std::to_string(m.partition));
        }
        last_offset[m.partition] = m.offset;
        all[{m.partition, m.offset}] = {*m.key, std::stoi(*m.value), m.partition, m.offset};
      }
      if (all.size() >= static_cast<size_t>(keys * per_key)) done = true;
      (void)(*c)->commit_sync();
    }
    (void)(*c)->close();
  };
  std::thread a(member, 0);
  std::this_thread::sleep_for(300ms);
  std::thread b(member, 1);
  a.join();
  b.join();
  INFO((problems.empty() ? std::string() : problems.front()));
  CHECK(problems.empty());
  REQUIRE(all.size() == static_cast<size_t>(keys * per_key));

  // Each key lives in one partition and appears there in send order.
  std::map<std::string, std::vector<seen>> by_key;
  for (const auto& [pos, s] : all) by_key[s.key].push_back(s);
  for (auto& [key, list] : by_key) {
    std::set<uint32_t> parts;
    for (const auto& s : list) parts.insert(s.partition);
    CHECK(parts.size() == 1);
    std::sort(list.begin(), list.end(),
              [](const seen& x, const seen& y) { return x.offset < y.offset; });
    for (size_t i = 0; i < list.size(); ++i) CHECK(list[i].seq == static_cast<int>(i));
  }
}

TEST_CASE("a restarted consumer resumes from the committed offset", "[app][group]") {
  test::broker_process broker;
  test::require_started(broker);
  test::create_topic(broker, "resume", 1);
  client::producer_config pc;
  pc.connection = test::connection_to(broker);
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  for (int i = 0; i < 100; ++i) (*prod)->send("resume", std::nullopt, std::to_string(i));
  REQUIRE((*prod)->flush(30s));

  {
    auto c = client::consumer::create(test::group_config(broker, "resumers"));
    REQUIRE(c);
    REQUIRE((*c)->subscribe({"resume"}));
    std::vector<client::message> got;
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (got.size() < 40 && std::chrono::steady_clock::now() < deadline) {
      auto r = (*c)->poll(200ms);
      if (r) got.insert(got.end(), r->begin(), r->end());
    }
    REQUIRE(got.size() >= 40);
    // Commit exactly the first 40.
    REQUIRE((*c)->commit_sync({{"resume", 0, got[39].offset + 1}}));
    REQUIRE((*c)->close());
  }
  auto c = client::consumer::create(test::group_config(broker, "resumers"));
  REQUIRE(c);
  REQUIRE((*c)->subscribe({"resume"}));
  auto rest = test::consume_n(**c, 60);
  REQUIRE(rest.size() == 60);
  CHECK(*rest.front().value == "40");
  CHECK(*rest.back().value == "99");
}

TEST_CASE("a running group picks up partitions added to its topic without a restart",
          "[app][group]") {
  test::broker_process b;
  test::require_started(b);
  test::create_topic(b, "growing", 2);
  auto c = client::consumer::create(test::group_config(b, "growers"));
  REQUIRE(c);
  // (The assignment holds the group's retry topic's partitions too.)
  auto of_topic = [](const std::vector<client::topic_partition>& tps) {
    return std::count_if(tps.begin(), tps.end(),
                         [](const client::topic_partition& tp) { return tp.topic == "growing"; });
  };
  REQUIRE((*c)->subscribe({"growing"}));
  REQUIRE(test::eventually(
      [&] {
        (void)(*c)->poll(100ms);
        return of_topic((*c)->assignment()) == 2;
      },
      15s));
  auto adm = client::admin::create(test::connection_to(b));
  REQUIRE(adm);
  REQUIRE((*adm)->add_partitions("growing", 4));
  client::producer_config pc;
  pc.connection = test::connection_to(b);
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  for (uint32_t p = 2; p < 4; ++p) {
    client::producer_record rec;
    rec.topic = "growing";
    rec.partition = p;
    rec.value = "on " + std::to_string(p);
    auto r = (*prod)->send_sync(rec);
    INFO(r.err.to_string());
    REQUIRE(r.ok());
  }
  // The same member, never restarted, is given the new partitions and reads
  // what was produced there.
  std::set<std::string> got;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (got.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    auto msgs = (*c)->poll(200ms);
    if (!msgs) continue;
    for (const auto& m : *msgs) got.insert(*m.value);
  }
  CHECK(got == std::set<std::string>{"on 2", "on 3"});
  CHECK(of_topic((*c)->assignment()) == 4);
}
