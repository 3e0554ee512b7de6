#include "latency_recorder.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace actormq::perf {

std::string latency_recorder::summary(const std::string& prefix) {
  if (samples_.empty()) return " " + prefix + "p50_us=NA";
  std::sort(samples_.begin(), samples_.end());
  auto pct = [this](double p) {
    auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(samples_.size())));
    size_t idx = std::min(rank > 0 ? rank - 1 : 0, samples_.size() - 1);
    return static_cast<double>(samples_[idx]) / 1000.0;
  };
  const char* p = prefix.c_str();
  char buf[320];
  std::snprintf(buf, sizeof buf, " %sp50_us=%.1f %sp99_us=%.1f %sp999_us=%.1f %smax_us=%.1f", p,
                pct(50), p, pct(99), p, pct(99.9), p,
                static_cast<double>(samples_.back()) / 1000.0);
  return buf;
}

}  // namespace actormq::perf
