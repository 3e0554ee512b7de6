// Integration: a producer's batches reach the broker in the order they were
// made (paced sends to an idle partition, bursts piling up behind a batch in
// flight, batches near the size limit), with none lost or stored twice.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "fixtures.h"

using namespace actormq;
using namespace std::chrono_literals;

namespace {

/// "<writer>:<n>:" then padding up to size bytes.
std::string value_of(char writer, int n, size_t size) {
  std::string v = std::string(1, writer) + ":" + std::to_string(n) + ":";
  if (v.size() < size) v.append(size - v.size(), 'p');
  return v;
}

}  // namespace

TEST_CASE(
    "records sent from several threads, paced and in bursts, small and large, are stored in each "
    "thread's order, each once",
    "[app][producer]") {
  test::broker_process broker;
  test::require_started(broker);
  test::create_topic(broker, "ordered", 1);
  // Declared before the producer: its callbacks may run until it is closed.
  std::atomic<int> failed{0};
  std::mutex mu;
  std::map<char, std::vector<int64_t>> acked;  // offsets in each writer's order of callbacks
  client::producer_config pc;
  pc.connection = test::connection_to(broker);
  pc.linger_ms = 0;
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  auto send = [&](char writer, int n, size_t size) {
    (*prod)->send(
        {"ordered", std::nullopt, value_of(writer, n, size), {}, std::nullopt, std::nullopt},
        [&, writer](const client::delivery_report& r) {
          if (r.err) {
            ++failed;
            return;
          }
          std::lock_guard lk(mu);
          acked[writer].push_back(r.offset);
        });
  };
  constexpr int paced = 1500, bursts = 3000, large = 150;
  // Paced: most sends find the partition idle and go at once.
  std::thread a([&] {
    for (int i = 0; i < paced; ++i) {
      send('a', i, 100);
      std::this_thread::sleep_for(200us);
    }
  });
  // Bursts: records pile up behind a batch in flight and go with its reply.
  std::thread b([&] {
    for (int i = 0; i < bursts; ++i) {
      send('b', i, 1000);
      if (i % 200 == 199) std::this_thread::sleep_for(2ms);
    }
  });
  // Large: a few records fill a batch; full batches are pipelined.
  std::thread c([&] {
    for (int i = 0; i < large; ++i) {
      send('c', i, 60 * 1024);
      if (i % 10 == 9) std::this_thread::sleep_for(1ms);
    }
  });
  a.join();
  b.join();
  c.join();
  REQUIRE((*prod)->flush(60s));
  CHECK(failed == 0);
  {
    std::lock_guard lk(mu);
    for (auto& [writer, offsets] : acked) {
      INFO("writer " << writer);
      CHECK(std::is_sorted(offsets.begin(), offsets.end()));
    }
    CHECK(acked['a'].size() == paced);
    CHECK(acked['b'].size() == bursts);
    CHECK(acked['c'].size() == large);
  }

  // The batches also reached the broker in order: none was refused for a
  // sequence gap (the idempotent producer would resend it, in order, so the
  // log alone cannot tell).
  auto adm = client::admin::create(test::connection_to(broker));
  REQUIRE(adm);
  auto doc = nlohmann::json::parse(*(*adm)->inspect(false));
  int64_t out_of_order_batches = -1;
  for (const auto& actor : doc["brokers"][0]["actors"]) {
    if (actor["path"] == "partition/ordered/0") {
      out_of_order_batches = actor["state"]["out_of_order_batches"];
    }
  }
  CHECK(out_of_order_batches == 0);

  client::consumer_config cc;
  cc.connection = test::connection_to(broker);
  cc.group_id = "readers";
  cc.auto_offset_reset = client::offset_reset::earliest;
  auto cons = client::consumer::create(cc);
  REQUIRE(cons);
  REQUIRE((*cons)->subscribe({"ordered"}));
  const size_t total = paced + bursts + large;
  auto msgs = test::consume_n(**cons, total, 60s);
  REQUIRE(msgs.size() == total);
  std::map<char, int> next;  // each writer's next value expected
  int out_of_order = 0;
  for (const auto& m : msgs) {
    REQUIRE(m.value);
    char writer = (*m.value)[0];
    int n = std::stoi(m.value->substr(2));
    if (n != next[writer]) ++out_of_order;
    next[writer] = n + 1;
  }
  CHECK(out_of_order == 0);
  CHECK(next['a'] == paced);
  CHECK(next['b'] == bursts);
  CHECK(next['c'] == large);
  REQUIRE((*cons)->close());
}
