#pragma once
// A fixed-bucket latency histogram in the Prometheus sense (cumulative
// buckets in seconds, a sum and a count), updated lock-free by one thread
// and read by another (the INSPECTOR). Relaxed atomics: a reader may see a
// count and sum from slightly different instants, which Prometheus allows.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "actors/inspect/actor_report.h"

namespace actormq {

class latency_histogram {
 public:
  /// Upper bounds in seconds, 100 µs .. 10 s (+Inf is implicit).
  static constexpr std::array<double, 16> bounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                 0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                 1,      2.5,     5,      10};

  void observe(std::chrono::nanoseconds d) {
    double s = std::chrono::duration<double>(d).count();
    size_t i = 0;
    while (i < bounds.size() && s > bounds[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<uint64_t>(d.count() < 0 ? 0 : d.count()),
                      std::memory_order_relaxed);
  }

  /// name_bucket{le=...} (cumulative), name_sum and name_count, with labels.
  void samples(const std::string& name, const std::vector<metric_label>& labels,
               std::vector<metric_sample>& out) const {
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= bounds.size(); ++i) {
      cumulative += buckets_[i].load(std::memory_order_relaxed);
      auto l = labels;
      l.push_back({"le", i < bounds.size() ? format_bound(bounds[i]) : "+Inf"});
      out.push_back({name + "_bucket", std::move(l), static_cast<double>(cumulative)});
    }
    out.push_back({name + "_sum", labels,
                   static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9});
    out.push_back({name + "_count", labels, static_cast<double>(cumulative)});
  }

  uint64_t count() const {
    uint64_t n = 0;
    for (const auto& b : buckets_) n += b.load(std::memory_order_relaxed);
    return n;
  }

 private:
  static std::string format_bound(double b) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", b);
    return buf;
  }

  std::array<std::atomic<uint64_t>, bounds.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_ns_{0};
};

}  // namespace actormq
