// consume: one group member reads stored records back (W3).

#include <unistd.h>

#include <cstdio>
#include <thread>

#include "actormq/client/consumer.h"
#include "runs.h"

namespace actormq::perf {

int run_consume(const common_options& o, const consume_options& c) {
  client::consumer_config cfg;
  cfg.connection.broker = o.broker;
  cfg.connection.client_id = "actormq-perf";
  cfg.group_id = c.group.empty()
                     ? "perf-" + std::to_string(getpid()) + "-" + std::to_string(now_ns())
                     : c.group;
  cfg.auto_offset_reset = client::offset_reset::earliest;
  cfg.max_poll_records = c.max_poll_records;
  cfg.fetch_max_bytes_per_partition = c.fetch_max_bytes;
  cfg.use_fetch_stream = c.stream;
  auto made = client::consumer::create(cfg);
  if (!made) {
    std::fprintf(stderr, "actormq-perf: consumer: %s\n", made.err().to_string().c_str());
    return 1;
  }
  auto& cons = **made;
  if (auto r = cons.subscribe({o.topic}); !r) {
    std::fprintf(stderr, "actormq-perf: subscribe: %s\n", r.err().to_string().c_str());
    return 1;
  }

  std::atomic<uint64_t> got{0};
  uint64_t bytes = 0, errors = 0;
  cpu_probe cpu;
  cpu.start(o.server_pid);
  const uint64_t t0 = now_ns();
  const uint64_t deadline = t0 + static_cast<uint64_t>(o.seconds * 1e9);
  {
    progress_line progress(o, o.label.empty() ? "consume" : o.label, got);
    while (got.load(std::memory_order_relaxed) < c.count && now_ns() < deadline) {
      auto r = cons.poll_batch(std::chrono::milliseconds(200));
      if (!r) {
        ++errors;
        std::fprintf(stderr, "actormq-perf: poll: %s\n", r.err().to_string().c_str());
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      for (const auto& m : *r) bytes += m.value ? m.value->size() : 0;
      got.fetch_add(r->size(), std::memory_order_relaxed);
    }
  }
  const uint64_t elapsed = now_ns() - t0;
  const std::string figures = cpu.stop();
  if (c.commit) {
    if (auto r = cons.commit_sync(); !r) {
      ++errors;
      std::fprintf(stderr, "actormq-perf: commit: %s\n", r.err().to_string().c_str());
    }
  }
  (void)cons.close();

  char extra[256];
  std::snprintf(extra, sizeof extra,
                " batch=%zu mode=%s consumer=group fetch_max_bytes=%u commit=%s errors=%llu",
                c.max_poll_records, c.stream ? "stream" : "copy", c.fetch_max_bytes,
                c.commit ? "end" : "none", static_cast<unsigned long long>(errors));
  emit(o, "W3", got.load(), bytes, elapsed, extra, figures);
  return got.load() >= c.count && errors == 0 ? 0 : 1;
}

}  // namespace actormq::perf
