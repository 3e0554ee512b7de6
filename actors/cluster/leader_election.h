#pragma once
// What the controller does to a partition when the set of live brokers
// changes (a broker's lease expired, or a broker came back). Kafka's rules,
// without unclean election:
//  - dead brokers leave the in-sync set, except the last one: it keeps the
//    partition's claim so that it can lead again when it returns;
//  - a live leader stays leader;
//  - a dead (or missing) leader is replaced by the first replica, in
//    preference order, that is alive and in the in-sync set; with none, the
//    partition has no leader (offline) until such a replica returns;
//  - every leader change, to none included, bumps the leader epoch.

#include <optional>
#include <set>

#include "actors/cluster/partition_state.h"

namespace actormq::cluster {

class leader_election {
 public:
  /// The partition's new state, or nullopt when nothing changes.
  static std::optional<partition_state> on_live_brokers(const partition_state& current,
                                                        const std::set<broker_id>& live);
};

}  // namespace actormq::cluster
