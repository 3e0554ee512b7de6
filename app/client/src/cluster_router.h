#pragma once
// cluster_router: where a connection's requests go in a cluster. It holds
// the cluster_metadata_cache of the connection (filled from `metadata`
// answers of the bootstrap broker) and the coordinator of each consumer
// group (from `findCoordinator`), and answers "which broker" for a
// partition (its leader), a group (its coordinator) and admin changes (the
// controller). Producers, consumers and admin clients on one connection
// share it.
//
// Thread-safety: every member is thread-safe. Members that talk to a broker
// (refresh, fetch_metadata, partition_count, leader_address,
// controller_address, coordinator) block and must not be called on the
// connection's loop thread; coordinator_client is for the loop thread only.

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "actormq/client/result.h"
#include "actormq/client/types.h"
#include "cluster_metadata_cache.h"
#include "schema/actormq.capnp.h"

namespace actormq::client::detail {

class connection_impl;

leader_hint hint_from_rpc(rpc::Error::Reader e);

cluster_metadata metadata_from_rpc(rpc::ClusterMetadata::Reader m);

/// The broker is not the partition's leader (the reply may carry a hint).
inline bool is_not_leader(const error& e) {
  return e.is(errc::not_leader);
}
/// The broker is not the controller (the reply may carry a hint).
inline bool is_not_controller(const error& e) {
  return e.is(errc::not_controller);
}
/// The broker does not coordinate the group (anymore): find it again.
inline bool is_not_coordinator(const error& e) {
  return e.is(errc::not_coordinator);
}
/// The broker we sent to is gone or unreachable: its leaderships and
/// coordinatorships are suspect.
inline bool is_connection_error(const error& e) {
  return e.is(errc::disconnected) || e.is(errc::broker_unreachable) || e.is(errc::request_timeout);
}

class cluster_router {
 public:
  explicit cluster_router(connection_impl& conn);

  // ---- blocking (user threads) ----

  /// Asks the bootstrap broker for metadata of topics (empty = every
  /// topic) now, regardless of the rate limit, and takes the answer.
  result<cluster_metadata> fetch_metadata(const std::vector<std::string>& topics);
  /// Refreshes when due (stale data, older than max_age, or force) and the
  /// rate limit allows; asks about every tracked topic plus extra.
  /// Succeeds without asking when no refresh is due.
  result<void> refresh(std::chrono::milliseconds max_age, bool force = false);
  /// Partition count of a topic, from metadata (asked for when missing or
  /// older than max_age). unknown_topic when the cluster has no such topic.
  result<uint32_t> partition_count(const std::string& topic, std::chrono::milliseconds max_age);
  /// The leader's address of tp, asking for metadata first when needed.
  /// Fails with unknown_topic / unknown_partition, or broker_unreachable
  /// (retriable) while the partition has no leader.
  result<std::string> leader_address(const topic_partition& tp, std::chrono::milliseconds max_age);
  /// The controller's address, asking for metadata when unknown.
  result<std::string> controller_address();
  /// The coordinator's address of group (cached; findCoordinator first).
  result<std::string> coordinator(const std::string& group);
  /// The transaction coordinator's address of a producer group, or (id not
  /// empty) of a transaction (cached; findCoordinator kind transaction).
  result<std::string> txn_coordinator(const std::string& group, const std::string& id = {});

  // ---- non-blocking (any thread) ----

  /// Where tp's requests go as far as the cache knows (no request).
  partition_route route(const topic_partition& tp) const;
  /// The topic's partition count as far as the cache knows, stale or not
  /// (no request; tracks the topic so the next refresh asks about it).
  std::optional<uint32_t> cached_partition_count(const std::string& topic);
  void track(const std::string& topic);
  void apply_leader_hint(const topic_partition& tp, const leader_hint& h);
  void invalidate(const std::string& topic);
  void invalidate_all();
  bool refresh_due(std::chrono::milliseconds max_age) const;
  void forget_coordinator(const std::string& group);
  void forget_txn_coordinator(const std::string& group, const std::string& id = {});
  /// The cached transaction coordinator of a producer group (no request).
  std::optional<std::string> cached_txn_coordinator(const std::string& group) const;
  /// After notController with a hint: the controller is there now.
  void apply_controller_hint(const leader_hint& h);

  // ---- loop thread only ----

  /// The coordinator's capability for group (findCoordinator on the
  /// bootstrap session first when not cached).
  kj::Promise<rpc::Broker::Client> coordinator_client(const std::string& group);

 private:
  result<void> refresh_locked(const std::vector<std::string>& topics);
  /// findCoordinator on the bootstrap session, cached under key.
  result<std::string> find_coordinator(const std::string& key, const std::string& group,
                                       bool transaction, const std::string& id);

  connection_impl& conn_;
  std::mutex refresh_mu_;  ///< one metadata request at a time
  mutable std::mutex mu_;  ///< cache_ and coordinators_
  cluster_metadata_cache cache_;
  std::map<std::string, std::string> coordinators_;
};

}  // namespace actormq::client::detail
