#pragma once
// Where a new topic's partitions live: Kafka's rack-unaware round robin.
// Brokers are taken in id order; partition p's replicas are the
// replication_factor brokers starting at (start + p), where start is a hash
// of the topic name, so that topics do not all put partition 0 on the lowest
// id. The first replica is the preferred leader.
//
// Worked example: brokers {0,1,2}, a topic whose start is 1, 3 partitions,
// replication factor 2 -> p0: [1,2], p1: [2,0], p2: [0,1].

#include <cstdint>
#include <string_view>
#include <vector>

#include "actors/cluster/types.h"

namespace actormq::cluster {

class replica_assignor {
 public:
  /// The replicas of each partition; empty when replication_factor is 0 or
  /// above the number of brokers (the caller reports not_enough_replicas).
  static std::vector<std::vector<broker_id>> assign(std::string_view topic, uint32_t partitions,
                                                    uint32_t replication_factor,
                                                    std::vector<broker_id> brokers);
  /// The hash that picks the first partition's broker (FNV-1a of the name).
  static uint32_t start_of(std::string_view topic);
};

}  // namespace actormq::cluster
