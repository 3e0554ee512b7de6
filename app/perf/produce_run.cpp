// produce: throughput of N producers (W1, W2, W5).

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "actormq/client/producer.h"
#include "runs.h"

namespace actormq::perf {

namespace {

/// Delivery outcomes, bumped from the connections' loop threads.
struct delivery_counters {
  std::atomic<uint64_t> acked{0};
  std::atomic<uint64_t> failed{0};
};

}  // namespace

std::optional<client::acks> acks_from_string(const std::string& s) {
  if (s == "none") return client::acks::none;
  if (s == "leader") return client::acks::leader;
  if (s == "fsync") return client::acks::fsync;
  if (s == "all") return client::acks::all;
  return std::nullopt;
}

int run_produce(const common_options& o, const produce_options& p) {
  auto acks = acks_from_string(p.acks);
  if (!acks) {
    std::fprintf(stderr, "actormq-perf: --acks must be none, leader, fsync or all\n");
    return 2;
  }
  if (auto e = ensure_topic(o); !e.empty()) {
    std::fprintf(stderr, "actormq-perf: %s\n", e.c_str());
    return 1;
  }
  int64_t stored_before = stored_messages(o);

  client::producer_config cfg;
  cfg.connection.broker = o.broker;
  cfg.connection.client_id = "actormq-perf";
  cfg.acks = *acks;
  cfg.idempotent = p.idempotent;
  cfg.linger_ms = p.linger_ms;
  cfg.batch_bytes = p.batch_bytes;
  cfg.max_in_flight_per_partition = p.max_in_flight;
  cfg.buffer_memory = p.buffer_memory;

  delivery_counters counters;
  std::atomic<uint64_t> sent{0};
  std::vector<std::unique_ptr<client::producer>> producers;
  for (uint32_t k = 0; k < std::max<uint32_t>(p.producers, 1); ++k) {
    auto made = client::producer::create(cfg);
    if (!made) {
      std::fprintf(stderr, "actormq-perf: producer: %s\n", made.err().to_string().c_str());
      return 1;
    }
    producers.push_back(std::move(*made));
  }
  const std::string payload = make_payload(p.size);
  const auto n = static_cast<uint64_t>(producers.size());

  cpu_probe cpu;
  cpu.start(o.server_pid);
  const uint64_t t0 = now_ns();
  const uint64_t deadline = t0 + static_cast<uint64_t>(o.seconds * 1e9);
  {
    progress_line progress(o, o.label.empty() ? "produce" : o.label, counters.acked);
    std::vector<std::thread> threads;
    for (uint64_t k = 0; k < n; ++k) {
      threads.emplace_back([&, k] {
        auto& prod = *producers[k];
        uint64_t mine = p.count / n + (k < p.count % n ? 1 : 0);
        uint64_t period =
            p.rate > 0 ? static_cast<uint64_t>(1e9 * static_cast<double>(n) / p.rate) : 0;
        uint64_t my_sent = 0;
        auto callback = [&counters](const client::delivery_report& r) {
          (r.ok() ? counters.acked : counters.failed).fetch_add(1, std::memory_order_relaxed);
        };
        for (; my_sent < mine; ++my_sent) {
          if ((my_sent & 255) == 0 && now_ns() > deadline) break;
          if (period > 0) sleep_until_ns(t0 + my_sent * period);
          if (p.window > 0) {
            // Shared counters: with several producers the window is approximate.
            while (sent.load(std::memory_order_relaxed) - counters.acked.load() -
                           counters.failed.load() >=
                       p.window * n &&
                   now_ns() < deadline) {
              std::this_thread::yield();
            }
          }
          // By view: send() copies the payload into the batch, once.
          client::producer_record_view rec;
          rec.topic = o.topic;
          rec.value = payload;
          prod.send(rec, callback);
          sent.fetch_add(1, std::memory_order_relaxed);
        }
        // Bounded: the flush may take at most 30 s past the run's cap.
        auto left_ms =
            static_cast<int64_t>((deadline - std::min(deadline, now_ns())) / 1000000) + 30000;
        if (auto r = prod.flush(std::chrono::milliseconds(left_ms)); !r) {
          std::fprintf(stderr, "actormq-perf: flush: %s\n", r.err().to_string().c_str());
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  const uint64_t elapsed = now_ns() - t0;
  const std::string figures = cpu.stop();
  int64_t stored_after = stored_messages(o);
  long long stored = stored_before >= 0 && stored_after >= 0 ? stored_after - stored_before : -1;

  uint64_t acked = counters.acked.load(), failed = counters.failed.load();
  uint64_t unsettled = sent.load() - acked - failed;
  char extra[320];
  std::snprintf(extra, sizeof extra,
                " size=%zu producers=%llu batch_bytes=%zu linger_ms=%u acks=%s max_in_flight=%u "
                "idempotent=%d errors=%llu unacked=%llu stored=%lld",
                p.size, static_cast<unsigned long long>(n), p.batch_bytes, p.linger_ms,
                p.acks.c_str(), p.max_in_flight, p.idempotent ? 1 : 0,
                static_cast<unsigned long long>(failed), static_cast<unsigned long long>(unsettled),
                stored);
  emit(o, "W1", acked, acked * p.size, elapsed, extra, figures);
  return failed == 0 && unsettled == 0 ? 0 : 1;
}

}  // namespace actormq::perf
