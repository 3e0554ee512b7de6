#pragma once
// latency_recorder: collects latency samples (nanoseconds) and prints
// percentiles in microseconds, the way ../shared/bench/peerbench does:
// nearest-rank (the ceil(p/100 * n)-th smallest sample).

#include <cstdint>
#include <string>
#include <vector>

namespace actormq::perf {

class latency_recorder {
 public:
  void reserve(size_t n) { samples_.reserve(n); }
  void add(uint64_t ns) { samples_.push_back(ns); }
  size_t size() const { return samples_.size(); }
  /// " {prefix}p50_us=.. {prefix}p99_us=.. {prefix}p999_us=.. {prefix}max_us=..";
  /// " {prefix}p50_us=NA" without samples. Sorts the samples.
  std::string summary(const std::string& prefix = "");

 private:
  std::vector<uint64_t> samples_;
};

}  // namespace actormq::perf
