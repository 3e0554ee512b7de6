#pragma once
// Which of a broker's local topics the cluster no longer has (docs/cluster.md,
// "Stray topics"): a broker that was down while a topic was deleted still
// holds its data. Such a topic must not be served, and must not be deleted
// blindly either (an emptied or wrong etcd would make that data loss), so the
// broker sets it aside (<data>/stray/).
//
// A local topic is stray when the cluster has no topic of that name, unless
// it is one of the broker's own:
//   - internal topics ("__..."),
//   - the retry and dead-letter topics of a cluster topic T (T.dlq,
//     T.<group>.retry, T.<group>.dlq; actors/retry/retry_topics.h), which
//     live on the broker and are not in etcd.
// Those of a topic that is itself gone are stray with it.
//
// A local topic the cluster has is stray too when its local copy is not
// marked replicated: the cluster did not place it here; a run of this data
// dir alone created it (a lone broker creates __consumer_offsets for
// itself). Served as it is it would never lead nor follow, and a partition
// the cluster gave this broker to lead would stay dark; set aside, the
// cluster's replica is created in its place.

#include <set>
#include <string>
#include <vector>

namespace actormq::cluster {

class stray_topics {
 public:
  /// The names in local that are stray given the cluster's topic names, in
  /// the order of local.
  /// unreplicated: the local topics not marked replicated.
  static std::vector<std::string> find(const std::vector<std::string>& local,
                                       const std::set<std::string>& cluster,
                                       const std::set<std::string>& unreplicated = {});
  /// True when name is T.dlq, T.<group>.retry or T.<group>.dlq of a T in cluster.
  static bool belongs_to(const std::string& name, const std::set<std::string>& cluster);
};

}  // namespace actormq::cluster
