#pragma once
// control_plane: one broker's part in the cluster's control plane on etcd
// (docs/cluster.md). Runs on the broker's KJ thread:
//
//  - membership: a lease (TTL [cluster].lease_ttl_ms) kept alive every TTL/3,
//    and <root>/brokers/<id> written under it. A second broker with the same
//    id is refused; a restart of this broker takes over the registration of
//    its previous run (recognised by the lease recorded in
//    <data>/cluster.state), so a crash does not lock the id for a TTL.
//  - the cluster view: one read of <root>/ and a watch from the next
//    revision, re-read after a lost or compacted watch.
//  - the controller election: the broker that creates <root>/controller
//    under its lease is the controller; the key's create revision is its
//    fencing token (every controller write is a txn on it). When the key
//    goes (lease expiry, resignation), every broker campaigns again.
//
// When etcd cannot be reached, up() turns false: the broker keeps serving
// with the view it has, and changes that need the control plane are refused
// (cluster_unavailable). It recovers by itself when etcd answers again.
//
// Thread-safety: KJ thread only. The object must outlive every promise it
// returned.

#include <kj/async-io.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/cluster/cluster_view.h"
#include "app/broker/broker_config.h"
#include "app/etcd/etcd_client.h"

namespace actormq::broker {

class controller;

class control_plane final : private kj::TaskSet::ErrorHandler {
 public:
  struct settings {
    cluster_config cluster;
    std::vector<etcd::endpoint> endpoints;  ///< parsed from cluster.etcd
    std::string rpc_address;                ///< HOST:PORT clients use
    std::string cluster_address;            ///< HOST:PORT of the NODE actor
    std::filesystem::path data_dir;
  };

  control_plane(kj::AsyncIoContext& io, settings s);
  ~control_plane();
  control_plane(const control_plane&) = delete;
  control_plane& operator=(const control_plane&) = delete;

  /// Registers this broker, reads the cluster state, then keeps all of it
  /// current in the background. Resolves with the reason when the broker
  /// must not start (etcd unreachable, id taken, data dir of another
  /// broker), with nullopt once it is a member.
  kj::Promise<std::optional<std::string>> start();
  /// Leaves the cluster at once (revokes the lease: the controller sees the
  /// broker gone without waiting for the TTL). Bounded by the etcd timeout.
  kj::Promise<void> leave();
  /// The PEERS actor found broker's process gone (its connection closed and
  /// its cluster port refused a reconnect). When etcd still holds that
  /// incarnation's registration, revoke its lease: the controller then sees
  /// the broker leave now rather than after the TTL. A live broker whose
  /// lease is revoked by mistake registers again (as after an expiry).
  void peer_gone(cluster::broker_id broker, uint64_t incarnation);
  /// This process's incarnation, as registered in etcd; the NODE actor
  /// announces the same one to its peers.
  uint64_t incarnation() const { return incarnation_; }

  /// The address clients reach this broker at, once its listener is bound
  /// (before start()).
  void set_rpc_address(std::string address) { settings_.rpc_address = std::move(address); }
  /// The address of this broker's NODE actor (before start()).
  void set_cluster_address(std::string address) { settings_.cluster_address = std::move(address); }

  cluster::broker_id self() const { return settings_.cluster.broker_id; }
  const cluster_config& cluster_settings() const { return settings_.cluster; }
  const std::string& cluster_id() const { return settings_.cluster.cluster_id; }
  const cluster::cluster_view& view() const { return view_; }
  /// False while etcd does not answer (the view may be stale).
  bool up() const { return up_; }
  bool is_controller() const;
  /// The controller's duties while this broker is the controller.
  controller& duties() { return *controller_; }
  /// Called after every change of the view (KJ thread).
  void on_change(std::function<void(cluster::cluster_view::change)> fn) {
    listeners_.push_back(std::move(fn));
  }
  /// Called (KJ thread) when this broker finds its lease gone (it was
  /// frozen or cut off longer than the TTL): the cluster has already seen
  /// it leave and moved its leaderships, so it must lead nothing now.
  void on_lease_lost(std::function<void()> fn) { lease_lost_ = std::move(fn); }
  etcd::etcd_client& etcd() { return etcd_; }
  kj::Timer& timer() { return io_.provider->getTimer(); }
  /// The fencing token of this broker's controllership (0 when it is not).
  etcd::revision fence() const { return fence_; }
  etcd::lease_id lease() const { return lease_; }

 private:
  kj::Promise<std::optional<std::string>> register_broker();
  kj::Promise<void> keepalive_loop();
  kj::Promise<std::optional<std::string>> resync();
  kj::Promise<void> resync_loop();
  kj::Promise<void> campaign();
  void apply(const etcd::watch_update& update);
  void changed(cluster::cluster_view::change c);
  void set_up(bool up, const std::string& why);
  std::optional<std::string> check_data_dir();
  void save_state();
  void taskFailed(kj::Exception&& e) override;

  kj::AsyncIoContext& io_;
  settings settings_;
  etcd::etcd_client etcd_;
  cluster::cluster_view view_;
  std::unique_ptr<controller> controller_;
  std::vector<std::function<void(cluster::cluster_view::change)>> listeners_;
  std::function<void()> lease_lost_;
  etcd::lease_id lease_{0};
  etcd::lease_id previous_lease_{0};  ///< from cluster.state: the last run's lease
  etcd::revision fence_{0};
  etcd::watch watch_;
  uint64_t incarnation_ = 0;
  bool up_ = true;
  bool campaigning_ = false;
  bool stopping_ = false;
  kj::TaskSet tasks_;
};

}  // namespace actormq::broker
