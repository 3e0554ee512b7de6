#pragma once
// The GROUP actor (one per consumer group) drives a group::group_membership
// and keeps the group's committed offsets, which it writes as records
// (offset_record.h) to its partition of the internal topic
// __consumer_offsets. The GROUP COORDINATOR actor (one per broker)
// coordinates the groups of the partitions of that topic this broker leads:
// when it takes one over it replays the partition's log into the groups'
// offsets, and when it loses it stops those groups (docs/architecture.md,
// "Coordinator state"). Alone, the broker leads every partition.

#include <caf/all.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/atoms.h"
#include "actors/cluster/leader_table.h"
#include "actors/cluster/peers_actor.h"
#include "actors/group/group_membership.h"
#include "actors/group/lag_watch.h"
#include "actors/group/offset_record.h"
#include "actors/group/topic_counts.h"
#include "actors/inspect/actor_directory.h"
#include "actors/inspect/actor_report.h"
#include "actors/partition/partition_actor.h"
#include "actors/retry/alert_hook.h"
#include "actors/topic/topic_registry_actor.h"

namespace actormq {

struct committed_offset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = -1;  ///< next offset to consume; -1 = none committed
  std::string metadata;
};

struct partition_lag {
  std::string topic;
  int32_t partition = 0;
  int64_t committed = -1;
  int64_t high_watermark = 0;
  int64_t lag = 0;  ///< high_watermark - committed (- log start when none committed)
  std::string member;
};

/// What a GROUP actor starts from.
struct group_seed {
  /// Committed offsets replayed from the state partition, by (topic, partition).
  std::map<std::pair<std::string, int32_t>, group::offset_value> offsets;
  /// The (leading) partition of __consumer_offsets that holds the group.
  partition_actor log;
  /// fsync alone; all (every in-sync replica) in a cluster.
  acks_level acks = acks_level::fsync;
};

struct group_info {
  group::group_description membership;
  std::vector<partition_lag> partitions;
};

using group_actor = caf::typed_actor<
    /// The actor inspector's report of this actor (docs/inspector.md).
    caf::replies_to<inspect_atom>::with<actor_report>,
    /// Joins (or rejoins) a member; replies with its id and assignment. The
    /// strategy (range, roundrobin, sticky; empty = keep) applies when the
    /// group has no members yet.
    caf::replies_to<join_atom, group::join_request, std::string>::with<group::join_result>,
    /// Keeps a member alive; tells it to adopt a new assignment when the
    /// group rebalanced (unknown_member when it expired).
    caf::replies_to<heartbeat_atom, std::string, int32_t>::with<group::heartbeat_result>,
    /// Removes a member; its partitions move at once.
    caf::replies_to<leave_atom, std::string>::with<bool>,
    /// Persists offsets (member id, generation) once authorised; replies
    /// after they are durable: written to the state partition with the
    /// group's acks (stale_generation, unknown_member, not_assigned;
    /// not_coordinator when the partition no longer leads).
    caf::replies_to<commit_atom, std::string, int32_t, std::vector<committed_offset>>::with<bool>,
    /// Committed offsets of the given partitions (-1 when none).
    caf::replies_to<committed_atom,
                    std::vector<group::topic_partition>>::with<std::vector<committed_offset>>,
    /// Members, assignment, committed offsets and lag per partition.
    caf::replies_to<describe_atom>::with<group_info>,
    /// From the coordinator compacting the state partition: writes every
    /// live offset of the group again (acknowledged ones overlaid with
    /// commits in flight) as one batch after its earlier records, and
    /// replies with that batch's offsets ({-1, -1} when the group has none;
    /// busy while a delete writes its tombstones: the compaction waits).
    caf::replies_to<compact_atom>::with<produce_reply>,
    /// From the coordinator (group delete): a group without members writes
    /// a tombstone for each of its committed offsets with its acks, replies
    /// once they are durable and quits. group_not_empty while it has
    /// members (it stays); unknown_group when it has neither members nor
    /// offsets (it quits). Joins and commits meanwhile get not_coordinator.
    caf::replies_to<delete_atom>::with<bool>,
    /// From the coordinator listing groups: true when the group has members
    /// or committed offsets (an actor spawned by a lookup of a name that
    /// holds nothing, or a deleted group's successor, is not listed).
    caf::replies_to<list_atom>::with<bool>,
    /// Session-expiry timer.
    caf::reacts_to<expire_atom>>;

using group_coordinator_actor = caf::typed_actor<
    /// The actor inspector's report of this actor (docs/inspector.md).
    caf::replies_to<inspect_atom>::with<actor_report>,
    /// The actor of a group, spawned on first use. not_coordinator when this
    /// broker does not lead the group's state partition; while it loads that
    /// partition the request waits for the load.
    caf::replies_to<group_atom, std::string>::with<group_actor>,
    /// From the replica manager (or at start, alone): this broker leads
    /// partition (first) of __consumer_offsets, which has (last) partitions,
    /// in the given leader epoch, through this actor. A new epoch or actor
    /// stops the partition's groups and replays its log.
    caf::reacts_to<lead_atom, uint32_t, int32_t, partition_actor, uint32_t>,
    /// This broker no longer leads the partition: its groups stop.
    caf::reacts_to<follow_atom, uint32_t>,
    /// Timer: retries the loads that failed (alone, also the creation of
    /// __consumer_offsets).
    caf::reacts_to<tick_atom>,
    /// Timer: compacts each led partition whose log holds more than
    /// compact_ratio times its live records (and compact_min_records): the
    /// partition's dormant groups are written again by the coordinator and
    /// its running groups by themselves (compact_atom), then the records
    /// below the first of those writes are deleted.
    caf::reacts_to<compact_atom>,
    /// Names of the groups with members or committed offsets, sorted.
    caf::replies_to<list_atom>::with<std::vector<std::string>>,
    /// Deletes a group without members (its GROUP actor's delete_atom,
    /// spawned from its replayed offsets when dormant); the next request
    /// for the name starts an empty group. Errors as that handler's, and
    /// as group_atom's (not_coordinator, invalid_request for a bad name or
    /// one of the broker's own groups, named "__...").
    caf::replies_to<delete_atom, std::string>::with<bool>,
    /// Shutdown: stops every group actor (offsets are flushed), then quits.
    caf::reacts_to<close_atom>>;

struct coordinator_settings {
  /// <data>: groups/ there holds offsets of the previous release's format
  /// (storage::offset_store), moved into __consumer_offsets once.
  std::filesystem::path data_dir;
  topic_registry_actor registry;
  /// Alone: partitions of __consumer_offsets when the coordinator creates it
  /// (an existing topic keeps its count).
  uint32_t state_partitions = 8;
  /// In a cluster: the control plane places __consumer_offsets and the
  /// replica manager sends lead and follow; commits wait for acks=all.
  bool replicated = false;
  /// Compaction of __consumer_offsets (see compact_atom).
  caf::timespan compact_interval = std::chrono::seconds(30);
  int64_t compact_min_records = 100000;
  double compact_ratio = 4.0;
  /// In a cluster: every topic's partition count (the registry holds only
  /// the topics with a replica on this broker). Null alone.
  std::shared_ptr<const group::topic_counts> cluster_topics;
  /// In a cluster: each partition's leader and the way to the other brokers,
  /// so a group's lag covers partitions led elsewhere. Null alone.
  std::shared_ptr<const cluster::leader_table> leaders;
  peers_actor peers;
  int32_t broker_id = -1;
  int64_t min_session_timeout_ms = 1000;
  int64_t max_session_timeout_ms = 300000;
  /// The actor inspector's directory: each group is listed there as
  /// "group/NAME"; may be null.
  std::shared_ptr<actor_directory> directory;
  /// Lag alerts (lag_watch.h): each group checks its lag every
  /// check_interval against its thresholds; an alert is an ALERT log line,
  /// a counter and a run of the alert hook (null: none).
  group::lag_alert_policy lag_alerts;
  std::shared_ptr<retry::alert_hook> alerts;
};

/// The config of __consumer_offsets: kept forever (a group's last commit
/// must outlive any retention), small segments, min in-sync 2 when possible.
topic_config offsets_topic_config(uint32_t partitions, uint32_t replication_factor);

caf::expected<group_coordinator_actor> spawn_group_coordinator(caf::actor_system& sys,
                                                               coordinator_settings settings);

}  // namespace actormq

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::group::join_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::group::join_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::group::heartbeat_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<actormq::committed_offset>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::group_info)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::group_seed)
