#pragma once
// replica_manager: turns the cluster view into roles of the local replicas
// (docs/replication.md). Runs on the KJ thread after every change of the
// view and once a second:
//
//  - a partition this broker leads gets lead_atom with its leadership
//    (epoch, replicas, in-sync set, revision, min in-sync replicas), again
//    whenever any of those change;
//  - a partition this broker follows gets a REPLICA FETCHER for (leader,
//    epoch), replaced when either changes; with no leader it is told to
//    follow nobody (it stays offline here);
//  - a partition actor that was restarted (a new actor handle at the
//    registry) is told its role again.
//
// It also writes the leaders' in-sync-set changes to etcd (write_isr, the
// ISR WRITER's backend): a txn that succeeds only if the partition's state
// is still the one the leader saw (its mod revision) and names this broker
// as leader in that epoch.

#include <kj/async.h>
#include <caf/all.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "actors/cluster/peers_actor.h"
#include "actors/cluster/replica_fetcher_actor.h"
#include "actors/inspect/actor_directory.h"
#include "actors/partition/partition_actor.h"
#include "actors/topic/topic_registry_actor.h"
#include "app/broker/cluster/isr_writer.h"

namespace actormq::broker {

class control_plane;

class replica_manager {
 public:
  struct settings {
    caf::timespan replica_lag = std::chrono::seconds(10);
    caf::timespan fetch_wait = std::chrono::milliseconds(500);
    uint32_t fetch_max_bytes = 1 << 20;
    /// The actor inspector's directory: fetchers are listed there as
    /// "fetcher/TOPIC/P"; may be null.
    std::shared_ptr<actor_directory> directory;
  };

  replica_manager(control_plane& cp, caf::actor_system& sys, topic_registry_actor registry,
                  peers_actor peers, settings s);
  ~replica_manager();
  replica_manager(const replica_manager&) = delete;
  replica_manager& operator=(const replica_manager&) = delete;

  /// Brings every local replica's role in line with the view (idempotent).
  void sync();
  /// Starts the periodic sync (every second) on the KJ timer.
  kj::Promise<void> run();
  /// The ISR WRITER's backend (KJ thread).
  kj::Promise<caf::expected<int64_t>> write_isr(isr_change change);
  /// Called (KJ thread) when this broker starts or stops leading a local
  /// partition, or leads it in a new epoch or through a new actor (a
  /// restart): topic, partition, the topic's partition count (0 when it
  /// stops leading), leading, epoch, the partition's actor. The group
  /// coordinator follows __consumer_offsets this way.
  using role_listener = std::function<void(const std::string&, uint32_t, uint32_t, bool, int32_t,
                                           const partition_actor&)>;
  void on_role(role_listener fn) { role_ = std::move(fn); }
  /// Stops every fetcher (shutdown).
  void stop();
  /// This broker's lease expired: every partition it leads steps down at
  /// once and leads again only on a state written after this moment (the
  /// controller has moved those leaderships; a stale view must not restore
  /// them).
  void step_down_all();

 private:
  using key = std::pair<std::string, uint32_t>;
  struct replica {
    partition_actor actor;  ///< the handle last configured
    bool leading = false;
    int32_t leader = -1;
    int32_t epoch = -1;
    int64_t revision = -1;
    /// Led until the lease was lost at this state revision: not led again
    /// on it (-1: none).
    int64_t fenced_revision = -1;
    replica_fetcher_actor fetcher;
  };

  void apply(const std::string& topic, const topic_handle& h);
  /// Brings one partition's role in line with the view.
  void configure(const std::string& topic, uint32_t p, replica& r, const partition_actor& actor);
  void stop_fetcher(replica& r);

  control_plane& cp_;
  caf::actor_system& sys_;
  topic_registry_actor registry_;
  peers_actor peers_;
  settings settings_;
  std::map<key, replica> replicas_;
  bool listing_ = false;
  role_listener role_;
};

}  // namespace actormq::broker
