#pragma once
// controller: what the elected controller broker does (docs/cluster.md,
// "The controller"). Every write is an etcd txn guarded by the fencing token
// (the create revision of <root>/controller equals the one this broker
// created), so a deposed controller that has not noticed yet changes
// nothing.
//
//  - create_topic: checks the name and the replication factor against the
//    live brokers, assigns replicas round robin (replica_assignor), and
//    writes the topic and each partition's state (leader = first replica,
//    epoch 0, in-sync set = every replica: all are empty).
//  - delete_topic: removes the topic and its partition states.
//  - add_partitions: places the new partitions like create_topic does and
//    writes them with the new partition count.
//  - set_quota: writes the topic config with new produce quotas.
//  - reconcile: after a broker came or went (and on taking office), runs
//    leader_election on every partition and writes the states that change,
//    and creates the internal topics (internal_topics()) when missing:
//    with [cluster].internal_replication_factor replicas once that many
//    brokers are live, or with every live broker after
//    internal_topic_wait_ms in office (a smaller cluster; warned). An
//    internal topic's partition with fewer replicas than
//    min(internal_replication_factor, live brokers) gets live brokers added
//    to its replica list (replica_assignor::grow), not to its in-sync set:
//    its leader then tracks them, they follow and catch up, and the leader
//    writes them into the in-sync set as it does any follower.
//
// KJ thread only; owned by control_plane.

#include <kj/async.h>
#include <kj/timer.h>
#include <caf/error.hpp>

#include <set>
#include <string>
#include <vector>

#include "actors/cluster/partition_state.h"
#include "actors/errc.h"
#include "actors/topic/topic_config.h"
#include "app/etcd/etcd_types.h"

namespace actormq::broker {

class control_plane;
struct cluster_config;

class controller {
 public:
  explicit controller(control_plane& cp) : cp_(cp) {}

  /// Resolves with none on success, or not_controller, topic_exists,
  /// invalid_topic, not_enough_replicas, cluster_unavailable.
  /// internal: a name starting with "__" is accepted (the broker's own
  /// topics).
  kj::Promise<caf::error> create_topic(std::string name, topic_config cfg, bool internal = false);
  /// Resolves with none, or not_controller, unknown_topic, cluster_unavailable.
  kj::Promise<caf::error> delete_topic(std::string name);
  /// Raises a topic's partition count to total: assigns replicas for the
  /// new partitions (replica_assignor over the live brokers, continuing the
  /// topic's round robin) and writes their states and the new topic config
  /// in one fenced txn guarded by the topic key's mod revision (more than
  /// 99 new partitions: partition states first in several txns, the topic
  /// config last, so a visible count always has its states). Resolves with
  /// none, or not_controller, unknown_topic, invalid_topic (total not
  /// larger, or above 10000), not_enough_replicas, busy (the topic changed
  /// meanwhile), cluster_unavailable.
  kj::Promise<caf::error> add_partitions(std::string name, uint32_t total);
  /// Sets a topic's produce quotas (-1 keeps a rate, 0 = unlimited): the
  /// topic config with the new rates in one fenced txn guarded by the topic
  /// key's mod revision; every broker holding the topic applies them to its
  /// registry on seeing the change (local_topics). Resolves with none, or
  /// not_controller, unknown_topic, invalid_topic, busy (the topic changed
  /// meanwhile), cluster_unavailable.
  kj::Promise<caf::error> set_quota(std::string name, int64_t byte_rate, int64_t message_rate);
  /// Elects leaders for partitions whose leader or in-sync replicas died or
  /// returned; no-op unless this broker is the controller. Re-runs itself if
  /// the view changed while a round was being written.
  void reconcile();

  /// A topic the controller creates for the broker's own coordinators and
  /// keeps at internal_replication_factor replicas.
  struct internal_topic {
    std::string name;
    uint32_t partitions;
  };
  /// Every internal topic (the one list: a new coordinator's topic goes
  /// here).
  static std::vector<internal_topic> internal_topics(const cluster_config& c);

 private:
  /// One fenced txn of puts and erases; resolves with the error, if any:
  /// not_controller when the fence no longer holds, `refused` when it holds
  /// but one of the extra compares failed.
  kj::Promise<caf::error> fenced(std::vector<etcd::compare> extra, std::vector<etcd::txn_op> ops,
                                 caf::error refused = make_error(errc::internal,
                                                                 "a write precondition failed"));
  /// One fenced txn of a reconcile round; `grown` is logged once written.
  struct write_batch {
    std::vector<etcd::compare> compares;
    std::vector<etcd::txn_op> ops;
    std::vector<std::string> grown;
  };
  /// The partition states a round changes (elections, internal topics'
  /// grown replica lists), in batches of at most max_ops_per_txn.
  std::vector<write_batch> plan_round() const;
  /// Writes one round of elections and growths; true when etcd refused and
  /// it must be retried.
  kj::Promise<bool> reconcile_round();
  /// Creates the missing internal topics when due (see above).
  void ensure_internal_topics();
  /// Adds live brokers to next's replicas when it is a partition of an
  /// internal topic short of its replication factor; returns those added.
  std::vector<cluster::broker_id> grow_internal(const std::string& topic, uint32_t partition,
                                                cluster::partition_state& next,
                                                const std::set<cluster::broker_id>& live) const;

  control_plane& cp_;
  bool in_office_ = false;
  kj::TimePoint office_since_ = kj::origin<kj::TimePoint>();
  std::set<std::string> creating_internal_;  ///< internal topics being created
  bool internal_timer_ = false;
  bool reconciling_ = false;
  bool again_ = false;
};

}  // namespace actormq::broker
