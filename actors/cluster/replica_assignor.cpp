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

}  // namespace actormq::cluster
