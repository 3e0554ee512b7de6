// actormq-commit-bench: consumer-group offset commits against a running
// broker or cluster.
//
//   actormq-commit-bench --broker HOST:PORT[,HOST:PORT...] [--groups G]
//                        [--partitions P] [--seconds S]
//
// G consumers, each the only member of its own group (so the groups spread
// over the coordinators of a cluster), subscribe to one topic of P
// partitions (--topic, default commit-bench, created when missing) and
// commit an offset for every partition, synchronously, in a loop for S
// seconds: one commit request = P offsets. Reports commit requests per
// second and the commit_sync latency (p50/p99/max). See docs/benchmarks.md,
// "Group offset commits".

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "actormq/client/admin.h"
#include "actormq/client/consumer.h"

using namespace actormq;
using clock_type = std::chrono::steady_clock;

int main(int argc, char** argv) {
  CLI::App app{"ActorMQ offset commit benchmark"};
  std::string broker = client::default_broker;
  std::string topic = "commit-bench";
  size_t groups = 4;
  uint32_t partitions = 4;
  double seconds = 10;
  app.add_option("--broker", broker, "HOST:PORT or a bootstrap list")->capture_default_str();
  app.add_option("--topic", topic, "topic (created when missing)")->capture_default_str();
  app.add_option("--groups", groups, "groups, one committing consumer each")->capture_default_str();
  app.add_option("--partitions", partitions, "partitions committed per request")
      ->capture_default_str();
  app.add_option("--seconds", seconds, "how long to commit")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  groups = std::max<size_t>(groups, 1);

  client::connection_config cc;
  cc.broker = broker;
  auto adm = client::admin::create(cc);
  if (!adm) return std::fprintf(stderr, "connect: %s\n", adm.err().to_string().c_str()), 1;
  client::topic_config tcfg;
  tcfg.partitions = partitions;
  (void)(*adm)->create_topic(topic, tcfg);

  const auto tag = std::to_string(clock_type::now().time_since_epoch().count());
  std::mutex mu;
  std::vector<double> latencies_us;
  std::atomic<size_t> failures{0};
  std::atomic<bool> go{false};
  std::atomic<size_t> ready{0};
  std::vector<std::thread> workers;
  clock_type::time_point start;
  for (size_t g = 0; g < groups; ++g) {
    workers.emplace_back([&, g] {
      client::consumer_config ccfg;
      ccfg.connection = cc;
      ccfg.group_id = "commit-bench-" + tag + "-" + std::to_string(g);
      auto c = client::consumer::create(ccfg);
      if (!c || !(*c)->subscribe({topic})) {
        ++failures;
        ++ready;
        return;
      }
      for (int i = 0; i < 50 && (*c)->assignment().size() < partitions; ++i) {
        (void)(*c)->poll(std::chrono::milliseconds(100));
      }
      ++ready;
      while (!go) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      std::vector<double> mine;
      int64_t offset = 0;
      const auto until = start + std::chrono::duration<double>(seconds);
      while (clock_type::now() < until) {
        ++offset;
        std::vector<client::topic_partition_offset> offsets;
        for (uint32_t p = 0; p < partitions; ++p) offsets.push_back({topic, p, offset});
        auto t0 = clock_type::now();
        if (!(*c)->commit_sync(offsets)) {
          ++failures;
          continue;
        }
        mine.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
      }
      (void)(*c)->close();
      std::lock_guard lk(mu);
      latencies_us.insert(latencies_us.end(), mine.begin(), mine.end());
    });
  }
  while (ready < groups) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  start = clock_type::now();
  go = true;
  for (auto& w : workers) w.join();
  double secs = std::chrono::duration<double>(clock_type::now() - start).count();

  std::sort(latencies_us.begin(), latencies_us.end());
  auto pct = [&](double q) {
    if (latencies_us.empty()) return 0.0;
    return latencies_us[std::min(
        latencies_us.size() - 1,
        static_cast<size_t>(q * static_cast<double>(latencies_us.size())))];
  };
  std::printf(
      "groups=%zu partitions=%u commits=%zu in %.1f s: %.0f commits/s (%.0f offsets/s); "
      "latency p50=%.0f us p99=%.0f us max=%.0f us; failures=%zu\n",
      groups, partitions, latencies_us.size(), secs,
      static_cast<double>(latencies_us.size()) / secs,
      static_cast<double>(latencies_us.size() * partitions) / secs, pct(0.5), pct(0.99),
      latencies_us.empty() ? 0.0 : latencies_us.back(), failures.load());
  return failures > 0 ? 1 : 0;
}
