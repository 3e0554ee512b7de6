#pragma once
// The keys of one ActorMQ cluster in etcd (docs/cluster.md, "Keys in etcd"),
// all under /actormq/<cluster id>/:
//
//   brokers/<id>               broker_registration, under the broker's lease
//   controller                 the controller's broker id, under its lease;
//                              its create revision is the fencing token
//   topics/<name>              topic_config (with replication_factor)
//   partitions/<name>/<p>      partition_state, written by the controller only
//   producer_id_block          producer_id_block: the latest block of producer
//                              ids claimed (compare-and-swap by any broker)
//
// Topic names cannot hold '/', so every key parses back unambiguously.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "actors/cluster/types.h"

namespace actormq::cluster {

class cluster_keys {
 public:
  explicit cluster_keys(std::string_view cluster_id);

  const std::string& root() const { return root_; }
  std::string brokers() const { return root_ + "brokers/"; }
  std::string broker(broker_id id) const { return brokers() + std::to_string(id); }
  std::string controller() const { return root_ + "controller"; }
  std::string topics() const { return root_ + "topics/"; }
  std::string topic(std::string_view name) const { return topics() + std::string(name); }
  std::string partitions() const { return root_ + "partitions/"; }
  std::string partitions_of(std::string_view topic) const {
    return partitions() + std::string(topic) + "/";
  }
  std::string partition(std::string_view topic, uint32_t p) const {
    return partitions_of(topic) + std::to_string(p);
  }
  std::string producer_id_block() const { return root_ + "producer_id_block"; }

  /// What a key under root() names.
  struct parsed {
    enum class kind { broker, controller, topic, partition, other };
    kind what = kind::other;
    broker_id broker = no_broker;
    std::string topic;
    uint32_t partition = 0;
  };
  parsed parse(std::string_view key) const;

 private:
  std::string root_;
};

}  // namespace actormq::cluster
