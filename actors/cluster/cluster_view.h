#pragma once
// cluster_view: one broker's copy of the cluster's state in etcd (brokers,
// controller, topics, partition states), kept current by applying every
// change the metadata watch reports (app/broker/cluster/metadata_watcher).
// Plain data: no etcd, no CAF; the KJ thread owns it.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "actors/cluster/broker_registration.h"
#include "actors/cluster/cluster_keys.h"
#include "actors/cluster/partition_state.h"
#include "actors/topic/topic_config.h"

namespace actormq::cluster {

class cluster_view {
 public:
  using partition_key = std::pair<std::string, uint32_t>;

  explicit cluster_view(cluster_keys keys) : keys_(std::move(keys)) {}

  /// What a change touched.
  enum class change { none, brokers, controller, topics, partitions };

  /// A key's new value; mod_revision is etcd's revision of that put (kept
  /// with partition states: a leader's in-sync-set write compares it).
  /// Malformed values are ignored (change::none) and counted in malformed().
  change put(std::string_view key, std::string_view value, int64_t mod_revision = 0);
  /// A key's removal (or its lease's expiry).
  change erase(std::string_view key);
  /// Forgets everything (before a full re-read).
  void clear();

  const std::map<broker_id, broker_registration>& brokers() const { return brokers_; }
  std::set<broker_id> live_brokers() const;
  broker_id controller() const { return controller_; }
  const std::map<std::string, topic_config>& topics() const { return topics_; }
  const std::map<partition_key, partition_state>& partitions() const { return partitions_; }
  /// The partition's state, or null when the controller has not written it.
  const partition_state* partition(const std::string& topic, uint32_t p) const;
  /// The registration of a broker, or null when it is not live.
  const broker_registration* broker(broker_id id) const;
  uint64_t malformed() const { return malformed_; }
  const cluster_keys& keys() const { return keys_; }

 private:
  cluster_keys keys_;
  std::map<broker_id, broker_registration> brokers_;
  broker_id controller_ = no_broker;
  std::map<std::string, topic_config> topics_;
  std::map<partition_key, partition_state> partitions_;
  uint64_t malformed_ = 0;
};

}  // namespace actormq::cluster
