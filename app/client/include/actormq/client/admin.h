#pragma once
// admin: topic and consumer group management. Every call blocks until the
// broker answers (or request_timeout_ms passes). Thread-safe.
//
// In a cluster, topic changes (create, delete, add partitions) go to the
// controller, group calls to the group's coordinator and list_offsets to
// the partition's leader; the rest to the bootstrap broker. After
// notController / notCoordinator / notLeader the call is retried at the
// broker named by the reply's hint or fresh metadata.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actormq/client/config.h"
#include "actormq/client/connection.h"
#include "actormq/client/result.h"
#include "actormq/client/types.h"

namespace actormq::client {

class admin {
 public:
  /// Connects on its own connection.
  static result<std::unique_ptr<admin>> create(const connection_config& cfg);
  /// Shares an existing connection.
  explicit admin(std::shared_ptr<connection> conn);

  result<client::broker_info> broker_info();
  /// Creates a topic (on the controller). cfg.replication_factor 0 means
  /// the broker default (1); a single broker refuses more than 1.
  result<void> create_topic(const std::string& name, const topic_config& cfg);
  result<void> delete_topic(const std::string& name);
  /// Every topic; the broker's own (names starting with "__", such as
  /// __consumer_offsets) only with include_internal.
  result<std::vector<topic_info>> list_topics(bool include_internal = false);
  result<topic_info> describe_topic(const std::string& name);
  /// Grows a topic to total_partitions partitions.
  result<void> add_partitions(const std::string& name, uint32_t total_partitions);
  /// Sets a topic's produce quotas per producer connection, bytes/s and
  /// messages/s (0 = unlimited, -1 = keep as it is). Live: every producer
  /// is held to them from its next request (docs/operations.md, "Throttle a
  /// flooding producer").
  result<void> set_topic_quota(const std::string& name, int64_t producer_byte_rate,
                               int64_t producer_message_rate);
  /// Every group some broker coordinates (in a cluster each live broker is
  /// asked and the lists merged), sorted.
  result<std::vector<std::string>> list_groups();
  result<group_info> describe_group(const std::string& group);
  /// Deletes a group without live members (like kafka-consumer-groups
  /// --delete): its committed offsets are forgotten durably and it leaves
  /// list_groups; a consumer that joins it later starts from
  /// auto_offset_reset. group_not_empty while members are joined,
  /// unknown_group when it has neither members nor committed offsets.
  result<void> delete_group(const std::string& group);
  /// The broker coordinating group, as the bootstrap broker knows it: in a
  /// cluster the leader of the group's partition of __consumer_offsets
  /// (cluster_unavailable while it has none); alone the broker itself.
  result<coordinator_info> find_coordinator(const std::string& group);
  /// The broker coordinating the transactions of a producer group (the
  /// leader of its partition of __transaction_state; cluster_unavailable
  /// while it has none); alone the broker itself.
  result<coordinator_info> find_txn_coordinator(const std::string& producer_group);
  /// Offset for a timestamp; earliest_timestamp / latest_timestamp give the
  /// log start / log end.
  result<int64_t> list_offsets(const topic_partition& tp, int64_t timestamp_ms);
  static constexpr int64_t earliest_timestamp = -1;
  static constexpr int64_t latest_timestamp = -2;
  /// Commits offsets for group as an administrator (no member, no
  /// generation): the coordinator takes it only while the group has no
  /// live members, else unknown_member ("the group has members").
  result<void> commit_offsets(const std::string& group,
                              const std::vector<topic_partition_offset>& offsets);
  /// Committed offsets of a group (-1 where none).
  result<std::vector<topic_partition_offset>> fetch_offsets(
      const std::string& group, const std::vector<topic_partition>& partitions);

  /// The cluster as the bootstrap broker sees it: brokers (id, address,
  /// alive), controller, control plane state and, for topics (empty =
  /// every topic), each partition's leader, epoch, replicas and in-sync
  /// set. A name that does not exist comes back with err = unknown_topic.
  /// With topics empty, internal topics only with include_internal.
  result<cluster_metadata> metadata(const std::vector<std::string>& topics = {},
                                    bool include_internal = false);

  /// The actor inspector (docs/inspector.md, "JSON"): every actor of the
  /// bootstrap broker, or with cluster of every broker (a broker that cannot
  /// be asked shows as down), as one JSON document.
  result<std::string> inspect(bool cluster = true);

  const std::shared_ptr<connection>& conn() const { return conn_; }

 private:
  result<coordinator_info> find(const std::string& group, bool transaction);
  std::shared_ptr<connection> conn_;
};

}  // namespace actormq::client
