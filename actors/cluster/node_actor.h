#pragma once
// The NODE actor: the one actor each broker publishes on its cluster port
// (publish_node in cluster_node.h). Other brokers reach this broker only
// through it; what it answers is all they learn. Every message type in its
// interface crosses nodes, so each is announced by add_cluster_message_types.

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "actors/atoms.h"
#include "actors/cluster/types.h"
#include "actors/inspect/actor_report.h"
#include "actors/partition/replication_types.h"
#include "actors/topic/topic_registry_actor.h"

namespace actormq {

using node_actor = caf::typed_actor<
    /// The actor inspector's report of this actor (docs/inspector.md).
    caf::replies_to<inspect_atom>::with<actor_report>,
    /// Who this broker is: id, cluster id, RPC address, incarnation.
    caf::replies_to<node_info_atom>::with<node_info>,
    /// Liveness and round-trip time; answered at once.
    caf::replies_to<ping_atom>::with<pong_atom>,
    /// This broker's report of all its actors, from its INSPECTOR (another
    /// broker's INSPECTOR asks it when answering for the whole cluster).
    caf::replies_to<inspect_atom, node_atom>::with<broker_report>,
    /// Offsets and size of each partition, in request order, read from the
    /// local TOPIC REGISTRY's partition actors. An unknown topic or partition,
    /// or a partition that does not answer within the node's local timeout,
    /// is an entry with its error set; the reply itself never fails.
    caf::replies_to<partition_stats_atom,
                    std::vector<topic_partition>>::with<std::vector<partition_stats>>,
    /// A follower's pull, handed to the local PARTITION actor of that
    /// partition (its replica_fetch_atom: errors as there, plus
    /// unknown_topic / unknown_partition). The wait is the partition's park
    /// time; the requester's timeout must exceed it.
    caf::replies_to<replica_fetch_atom, topic_partition, replica_fetch_request,
                    caf::timespan>::with<replica_fetch_reply>,
    /// Where an epoch ended in the local leader's log: the partition's
    /// epoch_end_atom (the follower's leader epoch, the epoch asked).
    caf::replies_to<epoch_end_atom, topic_partition, int32_t, int32_t>::with<epoch_end>,
    /// A produce to a partition this broker leads, from another broker's
    /// coordinator (actors/state/partition_writer.h): handed to the local
    /// PARTITION actor, errors as there (not_leader when it does not lead,
    /// not_enough_replicas, ...) plus unknown_topic / unknown_partition.
    /// The requester's timeout must exceed the node's local timeout.
    caf::replies_to<produce_atom, remote_produce>::with<remote_produce_reply>,
    /// A consumer's read for another broker's coordinator (the RETRY actor
    /// reading a nacked record, a re-drive reading its DLQ;
    /// actors/state/partition_reader.h): whole record batches from the
    /// offset, at most max_bytes (at least one batch), below the high
    /// watermark of a partition led here. Errors as the local PARTITION's
    /// fetch (not_leader, offset_out_of_range, ...) plus unknown_topic /
    /// unknown_partition. An empty string: nothing at the offset yet.
    caf::replies_to<fetch_atom, topic_partition, int64_t, uint32_t>::with<std::string>>;

struct node_settings {
  int32_t broker_id = -1;
  std::string cluster_id{};
  /// Where clients reach this broker's Cap'n Proto service, "host:port".
  std::string rpc_address{};
  /// 0: a random non-zero value is drawn at spawn (one per broker start).
  uint64_t incarnation = 0;
  /// The local registry, asked for partition_stats; may be null (then every
  /// entry is unknown_topic).
  topic_registry_actor registry{};
  /// This broker's INSPECTOR (an inspector_actor; untyped here because its
  /// header includes this one). Null: inspect_atom, node_atom fails.
  caf::actor inspector{};
  /// Bound of each request the node makes to local actors.
  caf::timespan local_timeout = std::chrono::seconds(5);
};

/// Spawns the node actor (not yet published: see publish_node).
node_actor spawn_node(caf::actor_system& sys, node_settings settings);

}  // namespace actormq
