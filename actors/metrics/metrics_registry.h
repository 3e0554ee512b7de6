#pragma once
// A small registry of monotonically increasing counters, each a name plus
// labels (e.g. actormq_dead_letters_total{topic,group,reason}). Actors add
// to it; a future metrics endpoint renders snapshot() in the Prometheus text
// format, and `actormq dlq stats` shows it today.
//
// Thread-safe: one mutex; adding is rare (per dead letter), not per message.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace actormq {

class metrics_registry {
 public:
  using labels = std::vector<std::pair<std::string, std::string>>;

  struct sample {
    std::string name;
    labels label_values;
    uint64_t value = 0;
  };

  void add(const std::string& name, const labels& l, uint64_t n = 1) {
    std::lock_guard lk(mu_);
    counters_[{name, l}] += n;
  }

  uint64_t value(const std::string& name, const labels& l) const {
    std::lock_guard lk(mu_);
    auto it = counters_.find({name, l});
    return it == counters_.end() ? 0 : it->second;
  }

  /// Every counter, sorted by name then labels.
  std::vector<sample> snapshot() const {
    std::lock_guard lk(mu_);
    std::vector<sample> out;
    for (const auto& [k, v] : counters_) out.push_back({k.first, k.second, v});
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, labels>, uint64_t> counters_;
};

}  // namespace actormq
