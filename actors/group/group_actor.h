#pragma once
// The GROUP actor (one per consumer group) drives a group::group_membership
// and owns the group's committed offsets (storage::offset_store under
// <data>/groups/<group>/). The GROUP COORDINATOR actor spawns group actors on
// first use, restores existing groups at start and lists them.

#include <caf/all.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/atoms.h"
#include "actors/group/group_membership.h"
#include "actors/group/topic_counts.h"
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

struct group_info {
  group::group_description membership;
  std::vector<partition_lag> partitions;
};

using group_actor = caf::typed_actor<
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
    /// after they are durable (stale_generation, unknown_member, not_assigned).
    caf::replies_to<commit_atom, std::string, int32_t, std::vector<committed_offset>>::with<bool>,
    /// Committed offsets of the given partitions (-1 when none).
    caf::replies_to<committed_atom,
                    std::vector<group::topic_partition>>::with<std::vector<committed_offset>>,
    /// Members, assignment, committed offsets and lag per partition.
    caf::replies_to<describe_atom>::with<group_info>,
    /// Session-expiry timer.
    caf::reacts_to<expire_atom>>;

using group_coordinator_actor = caf::typed_actor<
    /// The actor of a group, spawned on first use.
    caf::replies_to<group_atom, std::string>::with<group_actor>,
    /// Names of all known groups.
    caf::replies_to<list_atom>::with<std::vector<std::string>>,
    /// Shutdown: stops every group actor (offsets are flushed), then quits.
    caf::reacts_to<close_atom>>;

struct coordinator_settings {
  std::filesystem::path data_dir;
  topic_registry_actor registry;
  /// In a cluster: every topic's partition count (the registry holds only
  /// the topics with a replica on this broker). Null alone.
  std::shared_ptr<const group::topic_counts> cluster_topics;
  int64_t min_session_timeout_ms = 1000;
  int64_t max_session_timeout_ms = 300000;
};

caf::expected<group_coordinator_actor> spawn_group_coordinator(caf::actor_system& sys,
                                                               coordinator_settings settings);

}  // namespace actormq

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::group::join_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::group::join_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::group::heartbeat_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<actormq::committed_offset>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::group_info)
