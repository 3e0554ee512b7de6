#pragma once
// leader_table: the leader of every partition of a cluster, for the
// coordinators of one broker that write to partitions led elsewhere (a
// committed transaction goes to its target topic's leader, wherever that
// is). The broker's KJ thread sets it from the cluster view on every change
// (app/broker/main.cpp); actors read it. A reader may see a leader a few
// milliseconds late: writes to a broker that no longer leads fail with
// not_leader and the writer retries (actors/state/partition_writer.h).
//
// Thread-safety: set() and leader() from any thread.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "actors/cluster/types.h"

namespace actormq::cluster {

class leader_table {
 public:
  using key = std::pair<std::string, uint32_t>;

  /// Replaces the table (the cluster view changed).
  void set(std::map<key, broker_id> leaders) {
    std::lock_guard lk(mu_);
    leaders_ = std::move(leaders);
  }
  /// The partition's leader; no_broker when it has none or is unknown.
  broker_id leader(const std::string& topic, uint32_t partition) const {
    std::lock_guard lk(mu_);
    auto it = leaders_.find({topic, partition});
    return it == leaders_.end() ? no_broker : it->second;
  }

 private:
  mutable std::mutex mu_;
  std::map<key, broker_id> leaders_;
};

}  // namespace actormq::cluster
