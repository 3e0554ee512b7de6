#pragma once
// Where a new topic's partitions live: Kafka's rack-unaware round robin.
// Brokers are taken in id order; partition p's replicas are the
// replication_factor brokers starting at (start + p), where start is a hash
// of the topic name, so that topics do not all put partition 0 on the lowest
// id. The first replica is the preferred leader.
//
// Worked example: brokers {0,1,2}, a topic whose start is 1, 3 partitions,
// replication factor 2 -> p0: [1,2], p1: [2,0], p2: [0,1].
//
// Growing (grow): a topic whose hash is 4, placed on brokers {0,1} with
// replication factor 2, has p1: [1,0] (start 4 % 2 = 0). Once broker 2 is
// live and the target is 3, p1's round robin over {0,1,2} starts at
// (4 + 1) % 3 = 2: 2,0,1; the first broker not yet a replica is 2 ->
// [1,0,2]. Existing replicas keep their order, so the preferred leader stays.

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
  /// A partition's replica list grown to `target` replicas (the controller
  /// does it for internal topics created when fewer brokers were live):
  /// `current` in its order, then the live brokers that are not replicas,
  /// taken in the order assign() would place them for this partition (its
  /// round robin over `live` continued). Returns `current` unchanged when
  /// it has `target` or more replicas; fewer when too few brokers are live.
  static std::vector<broker_id> grow(std::string_view topic, uint32_t partition,
                                     std::vector<broker_id> current, uint32_t target,
                                     std::vector<broker_id> live);
  /// The hash that picks the first partition's broker (FNV-1a of the name).
  static uint32_t start_of(std::string_view topic);
};

}  // namespace actormq::cluster
