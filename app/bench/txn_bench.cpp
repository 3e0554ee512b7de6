// actormq-txn-bench: transactional messages against a running broker.
//
//   actormq-txn-bench --broker HOST:PORT [--count N] [--threads T] [--size BYTES]
//
// Each thread runs N / T transactions one after another: send_half of one
// record of --size bytes, then commit. Reports transactions per second
// (half + commit) and the commit-to-visible latency: from the commit call
// to the record's arrival at a consumer of the topic in this process
// (p50/p99/max). The topic (--topic, default txn-bench) is created with one
// partition when missing. See docs/benchmarks.md, "Transactions".

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "actormq/client/admin.h"
#include "actormq/client/consumer.h"
#include "actormq/client/transaction_producer.h"

using namespace actormq;
using clock_type = std::chrono::steady_clock;

int main(int argc, char** argv) {
  CLI::App app{"ActorMQ transactional message benchmark"};
  std::string broker = client::default_broker;
  std::string topic = "txn-bench";
  size_t count = 5000;
  size_t threads = 4;
  size_t size = 1024;
  app.add_option("--broker", broker, "HOST:PORT")->capture_default_str();
  app.add_option("--topic", topic, "topic (created with 1 partition if missing)")
      ->capture_default_str();
  app.add_option("--count", count, "transactions in all")->capture_default_str();
  app.add_option("--threads", threads, "producers, one connection each")->capture_default_str();
  app.add_option("--size", size, "value bytes per message")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  threads = std::max<size_t>(threads, 1);

  client::connection_config cc;
  cc.broker = broker;
  auto adm = client::admin::create(cc);
  if (!adm) return std::fprintf(stderr, "connect: %s\n", adm.err().to_string().c_str()), 1;
  client::topic_config tcfg;
  tcfg.partitions = 1;
  (void)(*adm)->create_topic(topic, tcfg);

  client::consumer_config ccfg;
  ccfg.connection = cc;
  ccfg.group_id = "txn-bench-" + std::to_string(clock_type::now().time_since_epoch().count());
  ccfg.auto_offset_reset = client::offset_reset::latest;
  ccfg.fetch_max_wait_ms = 100;
  auto consumer = client::consumer::create(ccfg);
  if (!consumer || !(*consumer)->subscribe({topic})) {
    return std::fprintf(stderr, "consumer failed\n"), 1;
  }
  // Make sure the consumer has its assignment before the clock starts.
  for (int i = 0; i < 10 && (*consumer)->assignment().empty(); ++i) {
    (void)(*consumer)->poll(std::chrono::milliseconds(200));
  }

  std::mutex mu;
  std::map<std::string, clock_type::time_point> committed_at;  // key -> commit call time
  std::vector<double> latencies_us;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done) {
      auto r = (*consumer)->poll(std::chrono::milliseconds(100));
      if (!r) continue;
      auto now = clock_type::now();
      std::lock_guard lk(mu);
      for (const auto& m : *r) {
        if (!m.key) continue;
        auto it = committed_at.find(*m.key);
        if (it == committed_at.end()) continue;
        latencies_us.push_back(std::chrono::duration<double, std::micro>(now - it->second).count());
        committed_at.erase(it);
      }
    }
  });

  std::string value(size, 'x');
  std::atomic<size_t> failures{0};
  auto start = clock_type::now();
  std::vector<std::thread> workers;
  for (size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      client::transaction_producer_config pc;
      pc.connection = cc;
      pc.producer_group = "txn-bench";
      auto p = client::transaction_producer::create(pc, {});
      if (!p) {
        failures += count / threads;
        return;
      }
      for (size_t i = 0; i < count / threads; ++i) {
        client::producer_record rec;
        rec.topic = topic;
        rec.partition = 0;
        rec.key = std::to_string(t) + "-" + std::to_string(i);
        rec.value = value;
        auto id = (*p)->send_half(rec);
        if (!id) {
          ++failures;
          continue;
        }
        {
          std::lock_guard lk(mu);
          committed_at[*rec.key] = clock_type::now();
        }
        if (!(*p)->commit(*id)) ++failures;
      }
    });
  }
  for (auto& w : workers) w.join();
  double secs = std::chrono::duration<double>(clock_type::now() - start).count();
  size_t total = (count / threads) * threads;
  // Let the consumer see the last commits (bounded).
  auto deadline = clock_type::now() + std::chrono::seconds(10);
  while (clock_type::now() < deadline) {
    {
      std::lock_guard lk(mu);
      if (committed_at.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  done = true;
  reader.join();

  std::sort(latencies_us.begin(), latencies_us.end());
  auto pct = [&](double q) {
    if (latencies_us.empty()) return 0.0;
    return latencies_us[std::min(
        latencies_us.size() - 1,
        static_cast<size_t>(q * static_cast<double>(latencies_us.size())))];
  };
  std::printf(
      "transactions: %zu (%zu threads, %zu-byte values) in %.2f s: %.0f txn/s, %zu failed\n", total,
      threads, size, secs, static_cast<double>(total) / secs, failures.load());
  std::printf("commit-to-visible: %zu seen, p50 %.0f us, p99 %.0f us, max %.0f us\n",
              latencies_us.size(), pct(0.5), pct(0.99),
              latencies_us.empty() ? 0.0 : latencies_us.back());
  return failures == 0 ? 0 : 1;
}
