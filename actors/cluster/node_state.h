#pragma once
// State of the NODE actor: who this broker is, and the partition_stats
// fan-in over the local registry and partition actors.

#include <caf/all.hpp>

#include <map>
#include <string>
#include <vector>

#include "actors/cluster/node_actor.h"
#include "actors/inspect/counted_actor.h"

namespace actormq {

class node_state {
 public:
  using self_ptr = inspected_pointer<node_actor, node_state>;
  static constexpr const char* name = "node";

  void init(self_ptr self, node_settings settings);

  node_info info() const;
  /// The actor inspector's part (docs/inspector.md, "node").
  void inspect(actor_report& r) const;
  /// This broker's report, from its INSPECTOR (settings' inspector, asked
  /// within local_timeout); internal when there is none.
  caf::result<broker_report> inspect_broker();
  /// Looks each distinct topic up once, then asks each partition for its
  /// offsets; replies when every entry has its value or its error.
  caf::result<std::vector<partition_stats>> stats(const std::vector<topic_partition>& tps);
  /// Replication: forwards to the local partition and relays its answer.
  caf::result<replica_fetch_reply> replica_fetch(const topic_partition& tp,
                                                 const replica_fetch_request& req,
                                                 caf::timespan wait);
  /// A coordinator's produce from another broker: to the local partition.
  caf::result<remote_produce_reply> produce(remote_produce& req);
  /// A coordinator's read from another broker: from the local partition.
  caf::result<std::string> fetch(const topic_partition& tp, int64_t offset, uint32_t max_bytes);
  caf::result<epoch_end> end_of_epoch(const topic_partition& tp, int32_t leader_epoch,
                                      int32_t epoch);

 private:
  /// Calls fn with the local partition actor of tp (from a cache of the
  /// registry's handles, refreshed when a partition fails to answer), or
  /// on_error with unknown_topic / unknown_partition.
  template <class F, class E>
  void with_partition(const topic_partition& tp, F fn, E on_error);
  void forget(const std::string& topic) { handles_.erase(topic); }

  self_ptr self_ = nullptr;
  node_settings settings_;
  std::map<std::string, std::vector<partition_actor>> handles_;
};

}  // namespace actormq
