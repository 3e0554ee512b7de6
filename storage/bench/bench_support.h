#pragma once
// Helpers shared by the benchmarks (actormq-storage-bench, actormq-actor-bench):
// CPU accounting over a run, the quiet-machine sample, the memory pre-warm
// (see ../shared/bench/README.md) and the record batches both append.
// Header-only; benchmarks only, not part of the storage library.

#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "storage/log_config.h"
#include "storage/record_batch_builder.h"

namespace actormq::bench {

using clock_type = std::chrono::steady_clock;

/// Records of one benchmark size class: value_bytes per record, one batch.
struct record_kind {
  const char* name;
  size_t value_bytes;
  int records_per_batch;
};

/// Busy jiffies of the whole machine (all cores) and of this process.
struct cpu_snapshot {
  clock_type::time_point wall;
  uint64_t machine_busy_ticks = 0;
  double self_secs = 0;

  static cpu_snapshot take() {
    cpu_snapshot s;
    s.wall = clock_type::now();
    std::ifstream in("/proc/stat");
    std::string cpu;
    in >> cpu;
    uint64_t v[8] = {};
    for (auto& x : v) in >> x;
    // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
    s.machine_busy_ticks = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto secs = [](timeval t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    s.self_secs = secs(ru.ru_utime) + secs(ru.ru_stime);
    return s;
  }
};

struct cpu_usage {
  double self_pct = 0;   ///< this process, % of one core
  double other_pct = 0;  ///< everything else on the machine (incl. kernel writeback), % of one core
};

inline cpu_usage usage_between(const cpu_snapshot& a, const cpu_snapshot& b) {
  double wall = std::chrono::duration<double>(b.wall - a.wall).count();
  if (wall <= 0) return {};
  double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  double machine = static_cast<double>(b.machine_busy_ticks - a.machine_busy_ticks) / ticks;
  double self = b.self_secs - a.self_secs;
  return {100 * self / wall, std::max(0.0, 100 * (machine - self) / wall)};
}

/// Machine-wide busy % (all cores) over a short idle sample before a run.
inline int pre_busy_pct() {
  auto a = cpu_snapshot::take();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto b = cpu_snapshot::take();
  auto u = usage_between(a, b);
  return static_cast<int>((u.self_pct + u.other_pct) / std::thread::hardware_concurrency());
}

/// Faults in mb MiB of anonymous memory and gives it back, so the page cache
/// of the next run is built from recycled pages: on this VM memory that sat
/// free for ~30 s is ~4x slower to touch (../shared/bench/README.md).
/// Returns the first-touch rate in MB/s (0 when mb is 0).
inline double prewarm(uint64_t mb) {
  if (mb == 0) return 0;
  size_t n = static_cast<size_t>(mb) << 20;
  auto t0 = clock_type::now();
  void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    std::perror("prewarm mmap");
    return 0;
  }
  std::memset(p, 1, n);
  double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  ::munmap(p, n);
  return static_cast<double>(n) / 1e6 / secs;
}

/// One batch of k.records_per_batch records with k.value_bytes random
/// letters each (the same bytes in every run).
inline std::vector<uint8_t> build_batch(const record_kind& k) {
  std::mt19937_64 rng(42);
  std::string value(k.value_bytes, '\0');
  for (auto& c : value) c = static_cast<char>('a' + rng() % 26);
  storage::record_batch_builder b;
  auto ts = storage::system_now();
  for (int i = 0; i < k.records_per_batch; ++i) b.add(std::nullopt, value, ts);
  auto bytes = b.build();
  return {bytes.begin(), bytes.end()};
}

}  // namespace actormq::bench
