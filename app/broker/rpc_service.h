#pragma once
// The Broker capability served to one connection (schema/actormq.capnp).
// Runs on the KJ thread: each call validates its parameters, copies what it
// keeps (Readers never outlive the call), posts a task to the connection's
// SESSION actor and returns a promise fulfilled from the CAF side through a
// cross-thread fulfiller. It never blocks on an actor.

#include <kj/async-io.h>
#include <caf/all.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "actors/cluster/node_actor.h"
#include "actors/cluster/peers_actor.h"
#include "actors/errc.h"
#include "actors/inspect/actor_directory.h"
#include "app/broker/broker_config.h"
#include "app/broker/connection_flow.h"
#include "app/broker/fetch_stream.h"
#include "app/broker/rpc_metrics.h"
#include "schema/actormq.capnp.h"

#include <kj/debug.h>

namespace actormq::kj_support {
class kj_inbox;
}  // namespace actormq::kj_support

namespace actormq::broker {

using kj_support::kj_inbox;
class control_plane;
class controller;
class producer_id_allocator;
struct checker_slot;

/// Where a request for a partition (or a controller change) must go
/// instead: the code (not_leader, not_controller, unknown_topic,
/// unknown_partition), a text, and the broker this one knows of.
struct redirect {
  redirect(errc c, std::string t, int32_t id = -1, std::string address = {})
      : code(c), text(std::move(t)), leader_id(id), leader_address(std::move(address)) {}
  errc code;
  std::string text;
  int32_t leader_id;
  std::string leader_address;
};

void fill_redirect(rpc::Error::Builder b, const redirect& r);

/// Fetch-stream tokens of live sessions, shared by the connection handlers
/// and the stream acceptor (KJ thread only).
class stream_registry {
 public:
  std::string add(class rpc_service* s);
  void remove(const std::string& token) { sessions_.erase(token); }
  rpc_service* find(const std::string& token) const {
    auto it = sessions_.find(token);
    return it == sessions_.end() ? nullptr : it->second;
  }

 private:
  std::map<std::string, rpc_service*> sessions_;
};

struct service_context {
  caf::actor_system* system = nullptr;
  caf::actor_system* sys() const { return system; }
  const broker_config* config = nullptr;
  caf::actor registry;     ///< topic_registry_actor, as untyped handle
  caf::actor coordinator;  ///< group_coordinator_actor, as untyped handle
  caf::actor delay;        ///< delay_actor, as untyped handle
  caf::actor retry;        ///< retry_actor, as untyped handle
  caf::actor txn;          ///< txn_coordinator_actor, as untyped handle
  /// Work from CAF threads for this KJ thread (transaction check-backs).
  std::shared_ptr<kj_inbox> inbox;
  stream_registry* streams = nullptr;
  uint16_t stream_port = 0;
  std::string broker_id;
  kj::Timer* timer = nullptr;  ///< the KJ loop's timer
  /// This broker's part in the cluster's control plane; null when the
  /// broker runs alone.
  control_plane* cluster = nullptr;
  /// Cluster only: producer ids unique in the cluster (blocks from etcd);
  /// null when the broker runs alone (its registry allocates them).
  producer_id_allocator* producer_ids = nullptr;
  /// Cluster only: this broker's NODE actor and its PEERS (admin fan-out).
  node_actor node;
  peers_actor peers;
  /// The actor inspector's directory: each session is listed there as
  /// "session/PEER"; may be null.
  std::shared_ptr<actor_directory> directory;
  /// Counters and latency histograms of all connections; may be null.
  std::shared_ptr<rpc_metrics> rpc_stats;
  /// This broker's INSPECTOR (inspector_actor), set once the RPC address is
  /// known; connections accepted from then on answer inspect.
  caf::actor inspector;
};

class rpc_service final : public rpc::Broker::Server {
 public:
  /// flow: the connection's backpressure and idleness (null: not tracked).
  rpc_service(const service_context& ctx, std::string peer,
              std::shared_ptr<connection_flow> flow = nullptr);
  ~rpc_service();

  /// Binds an accepted fetch-stream connection to this session and wakes
  /// fetches that were waiting for it.
  void attach_stream(kj::Own<fetch_stream> stream);

 protected:
  /// Every call, timed and counted into ctx.rpc_stats.
  DispatchCallResult dispatchCall(
      uint64_t interface_id, uint16_t method_id,
      capnp::CallContext<capnp::AnyPointer, capnp::AnyPointer> context) override;
  kj::Promise<void> info(InfoContext ctx) override;
  kj::Promise<void> inspect(InspectContext ctx) override;
  kj::Promise<void> createTopic(CreateTopicContext ctx) override;
  kj::Promise<void> deleteTopic(DeleteTopicContext ctx) override;
  kj::Promise<void> listTopics(ListTopicsContext ctx) override;
  kj::Promise<void> describeTopic(DescribeTopicContext ctx) override;
  kj::Promise<void> addPartitions(AddPartitionsContext ctx) override;
  kj::Promise<void> setTopicQuota(SetTopicQuotaContext ctx) override;
  kj::Promise<void> listGroups(ListGroupsContext ctx) override;
  kj::Promise<void> describeGroup(DescribeGroupContext ctx) override;
  kj::Promise<void> deleteGroup(DeleteGroupContext ctx) override;
  kj::Promise<void> initProducer(InitProducerContext ctx) override;
  kj::Promise<void> produce(ProduceContext ctx) override;
  kj::Promise<void> fetch(FetchContext ctx) override;
  kj::Promise<void> openStream(OpenStreamContext ctx) override;
  kj::Promise<void> listOffsets(ListOffsetsContext ctx) override;
  kj::Promise<void> joinGroup(JoinGroupContext ctx) override;
  kj::Promise<void> heartbeat(HeartbeatContext ctx) override;
  kj::Promise<void> leaveGroup(LeaveGroupContext ctx) override;
  kj::Promise<void> commitOffsets(CommitOffsetsContext ctx) override;
  kj::Promise<void> fetchOffsets(FetchOffsetsContext ctx) override;
  // Retries and dead letters (rpc_service_retry.cpp).
  kj::Promise<void> nack(NackContext ctx) override;
  kj::Promise<void> redrive(RedriveContext ctx) override;
  kj::Promise<void> redriveCursor(RedriveCursorContext ctx) override;
  kj::Promise<void> deadLetterStats(DeadLetterStatsContext ctx) override;
  // Transactional messages (rpc_service_txn.cpp).
  kj::Promise<void> registerChecker(RegisterCheckerContext ctx) override;
  kj::Promise<void> sendHalf(SendHalfContext ctx) override;
  kj::Promise<void> endTransaction(EndTransactionContext ctx) override;
  kj::Promise<void> listTransactions(ListTransactionsContext ctx) override;
  // Cluster metadata (rpc_service_cluster.cpp).
  kj::Promise<void> metadata(MetadataContext ctx) override;
  kj::Promise<void> findCoordinator(FindCoordinatorContext ctx) override;

 private:
  /// In a cluster: why this broker does not serve the partition, or nullopt
  /// when it leads it (always nullopt for a single broker).
  std::optional<redirect> not_led_here(const std::string& topic, uint32_t partition) const;
  /// Cluster: the topic's description with each partition's offsets asked
  /// of its leader (this broker's NODE or a peer's, bounded); a partition
  /// whose leader is offline or does not answer shows -1 offsets.
  kj::Promise<void> describe_cluster_topic(const std::string& name, rpc::TopicInfo::Builder out,
                                           rpc::Error::Builder err);
  /// In a cluster: not_coordinator with the group's coordinator when it is
  /// another broker; nullopt here (and always for a single broker).
  std::optional<redirect> not_coordinated_here(const std::string& group) const;
  /// The partition of __transaction_state holding the transactions of
  /// producer group (or transaction id when given); nullopt in a cluster
  /// whose topic does not exist yet. Alone: always a value.
  std::optional<uint32_t> txn_partition(const std::string& group,
                                        const std::optional<uint64_t>& id) const;
  /// In a cluster: not_coordinator with the transaction coordinator when it
  /// is another broker (cluster_unavailable when there is none yet).
  std::optional<redirect> not_txn_coordinated_here(const std::string& group,
                                                   const std::optional<uint64_t>& id) const;
  /// The session's fetch stream when one is attached and not broken.
  fetch_stream* usable_stream();
  /// Runs a controller duty here when this broker is the controller;
  /// otherwise resolves at once with not_controller and the controller's
  /// address. Resolves with what to report (nullopt: done). Cluster only.
  kj::Promise<std::optional<redirect>> through_controller(
      std::function<kj::Promise<caf::error>(controller&)> duty);

  service_context ctx_;
  std::string peer_;
  std::shared_ptr<connection_flow> flow_;
  caf::actor session_;
  std::string stream_token_;
  kj::Maybe<kj::Own<fetch_stream>> stream_;
  /// Fetches with useStream that arrived before the stream's token did.
  std::vector<kj::Own<kj::PromiseFulfiller<void>>> stream_waiters_;
  /// TransactionChecker capabilities registered on this connection, by
  /// producer group (KJ thread only; check calls hold weak references).
  std::map<std::string, std::shared_ptr<checker_slot>> checkers_;
};

}  // namespace actormq::broker
