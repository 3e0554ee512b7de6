#pragma once
// local_topics: makes this broker's TOPIC REGISTRY hold the topics the
// cluster view places on it (a partition of the topic lists this broker as
// a replica), and drops the ones the controller deleted. Runs on the KJ
// thread after every change of the view; registry calls go through a
// short-lived actor and come back as promises.
//
// A topic is created locally with all its partitions, also the ones this
// broker does not hold (they stay empty and are never served here), and
// marked replicated: the replica manager tells each partition whether it
// leads or follows (replica_manager.h). When the controller adds partitions to a topic held here,
// they are created locally too (grow_held), and when it changes a held
// topic's produce quotas, they are set in the local registry (set_quotas).
//
// Stray topics: after the control plane's first full read, a local topic the
// cluster does not have (deleted while this broker was down) is neither
// served nor deleted: set_aside_strays() moves it to <data>/stray/ with a
// warning (cluster::stray_topics says which ones; docs/cluster.md).

#include <kj/async.h>
#include <caf/all.hpp>

#include <functional>
#include <map>
#include <set>
#include <string>

namespace actormq::broker {

class control_plane;

class local_topics {
 public:
  local_topics(control_plane& cp, caf::actor_system& sys, caf::actor registry)
      : cp_(cp), sys_(sys), registry_(std::move(registry)) {}

  /// Creates and deletes local topics to match the view (idempotent).
  void sync();
  /// Topics this broker created or found for the cluster.
  const std::set<std::string>& held() const { return held_; }
  /// Called (KJ thread) after a topic was created here.
  void on_created(std::function<void()> fn) { on_created_ = std::move(fn); }
  /// Once, after the control plane's first full read (before serving):
  /// moves every stray local topic to <data>/stray/<name>-<unix ms>/.
  /// Resolves when every move ended (each bounded by the registry timeout).
  kj::Promise<void> set_aside_strays();

 private:
  control_plane& cp_;
  caf::actor_system& sys_;
  caf::actor registry_;
  std::set<std::string> held_;
  std::set<std::string> busy_;  ///< a create or delete is under way
  std::function<void()> on_created_;
  /// Creates the partitions the controller added to held topics.
  void grow_held();
  /// Partition count of held topics in the local registry, as last seen.
  std::map<std::string, uint32_t> partitions_here_;
  /// Sets the view's produce quotas of held topics in the registry where
  /// they differ from what was last set there (and once for each topic
  /// after a start: the topic.conf may predate an alter).
  void set_quotas();
  /// (bytes/s, messages/s) last set in the local registry, per held topic.
  std::map<std::string, std::pair<int64_t, int64_t>> quotas_here_;
};

}  // namespace actormq::broker
