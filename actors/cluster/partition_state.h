#pragma once
// The control plane's view of one partition, written only by the controller
// (fenced) as the value of <root>/partitions/<topic>/<partition> in etcd:
//
//   leader = 2          the broker that serves produce and fetch; -1 = none
//   leader_epoch = 4    +1 on every leader change (KIP-101 truncation uses it)
//   replicas = 2,0,1    the brokers holding the partition, preferred leader first
//   isr = 2             in-sync replicas: a new leader is chosen only from these
//
// A new partition's in-sync set is every replica (all are empty). Later the
// leader shrinks and expands it (docs/replication.md), and the controller
// removes dead brokers from it; each write compares the key's mod revision
// (kept in `revision` below), so neither overwrites the other.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/cluster/types.h"

namespace actormq::cluster {

struct partition_state {
  broker_id leader = no_broker;
  int32_t leader_epoch = 0;
  std::vector<broker_id> replicas;
  std::vector<broker_id> isr;
  /// etcd's mod revision of the key this state was read from (not part of
  /// the value): a write that must not overwrite a newer state compares it.
  int64_t revision = 0;

  bool in_isr(broker_id b) const { return std::find(isr.begin(), isr.end(), b) != isr.end(); }
  bool has_replica(broker_id b) const {
    return std::find(replicas.begin(), replicas.end(), b) != replicas.end();
  }

  std::string encode() const;
  /// nullopt when malformed (a replica list is required).
  static std::optional<partition_state> decode(std::string_view text);
  bool operator==(const partition_state&) const = default;
};

}  // namespace actormq::cluster
