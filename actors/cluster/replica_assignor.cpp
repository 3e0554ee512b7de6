#include "actors/cluster/replica_assignor.h"

#include <algorithm>

namespace actormq::cluster {

uint32_t replica_assignor::start_of(std::string_view topic) {
  uint32_t h = 2166136261u;
  for (unsigned char c : topic) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

std::vector<std::vector<broker_id>> replica_assignor::assign(std::string_view topic,
                                                             uint32_t partitions,
                                                             uint32_t replication_factor,
                                                             std::vector<broker_id> brokers) {
  std::sort(brokers.begin(), brokers.end());
  brokers.erase(std::unique(brokers.begin(), brokers.end()), brokers.end());
  if (replication_factor == 0 || replication_factor > brokers.size()) return {};
  const size_t n = brokers.size();
  const size_t start = start_of(topic) % n;
  std::vector<std::vector<broker_id>> out(partitions);
  for (uint32_t p = 0; p < partitions; ++p) {
    for (uint32_t r = 0; r < replication_factor; ++r) {
      out[p].push_back(brokers[(start + p + r) % n]);
    }
  }
  return out;
}

std::vector<broker_id> replica_assignor::grow(std::string_view topic, uint32_t partition,
                                              std::vector<broker_id> current, uint32_t target,
                                              std::vector<broker_id> live) {
  std::sort(live.begin(), live.end());
  live.erase(std::unique(live.begin(), live.end()), live.end());
  const size_t n = live.size();
  if (n == 0) return current;
  const size_t start = start_of(topic) % n;
  for (size_t r = 0; r < n && current.size() < target; ++r) {
    auto b = live[(start + partition + r) % n];
    if (std::find(current.begin(), current.end(), b) == current.end()) current.push_back(b);
  }
  return current;
}

}  // namespace actormq::cluster
