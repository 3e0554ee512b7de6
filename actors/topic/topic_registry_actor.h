#pragma once
// The TOPIC REGISTRY actor: creates, deletes and describes topics, persists
// their configs under <data>/topics/, spawns one PARTITION actor per
// partition and supervises them (a partition that fails is restarted, which
// re-runs log recovery). Also allocates idempotent producer ids (a single
// broker's; a cluster's come from etcd, app/broker/cluster/producer_id_allocator.h).

#include <caf/all.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "actors/atoms.h"
#include "actors/inspect/actor_directory.h"
#include "actors/inspect/actor_report.h"
#include "actors/partition/partition_actor.h"
#include "actors/topic/topic_config.h"
#include "actors/topic/topic_quota.h"

namespace actormq {

/// What a producer/consumer session needs to reach a topic's partitions.
struct topic_handle {
  std::string name;
  topic_config config;
  std::vector<partition_actor> partitions;
  std::vector<std::shared_ptr<inflight_budget>> budgets;  ///< one per partition
  /// The topic's produce quota, shared with the registry (set_quota
  /// changes it for every holder of the handle); never null.
  std::shared_ptr<topic_quota> quota;
};

struct producer_identity {
  int64_t producer_id = -1;
  int16_t epoch = 0;
};

using topic_registry_actor = caf::typed_actor<
    /// The actor inspector's report of this actor (docs/inspector.md).
    caf::replies_to<inspect_atom>::with<actor_report>,
    /// Creates a topic (topic_exists, invalid_topic).
    caf::replies_to<create_atom, std::string, topic_config>::with<topic_handle>,
    /// Creates an internal topic (name starting with "__", for the broker's
    /// own use), or returns it when it exists already.
    caf::replies_to<create_atom, std::string, topic_config, internal_atom>::with<topic_handle>,
    /// Deletes a topic and its data (unknown_topic).
    caf::replies_to<delete_atom, std::string>::with<bool>,
    /// Resolves a topic (unknown_topic).
    caf::replies_to<lookup_atom, std::string>::with<topic_handle>,
    /// All topics, sorted by name.
    caf::replies_to<list_atom>::with<std::vector<topic_handle>>,
    /// Raises a topic's partition count (keys may map to other partitions).
    caf::replies_to<grow_atom, std::string, uint32_t>::with<topic_handle>,
    /// Sets a topic's produce quotas (bytes/s, messages/s per producer
    /// session; -1 keeps one as it is, 0 = unlimited), persisted in its
    /// topic.conf; every session sees them at its next produce
    /// (unknown_topic, invalid_topic).
    caf::replies_to<quota_atom, std::string, int64_t, int64_t>::with<topic_handle>,
    /// Stops serving a topic and moves its directory aside to
    /// <data>/stray/<name>-<unix ms>/ instead of deleting it (a topic the
    /// cluster no longer has, docs/cluster.md); replies with that path
    /// (unknown_topic, storage_error).
    caf::replies_to<stray_atom, std::string>::with<std::string>,
    /// A new producer id (persisted, never reused) with epoch 0.
    caf::replies_to<pid_atom>::with<producer_identity>,
    /// Restarts partition p of a topic whose partition actor stopped and
    /// could not be restarted at once (sent to itself after the supervision
    /// backoff); nothing when it runs again or the topic is gone.
    caf::reacts_to<retry_atom, std::string, uint32_t>,
    /// Shutdown: stops every partition (each flushes and closes its log) and
    /// the flushers, then quits.
    caf::reacts_to<close_atom>>;

struct registry_settings {
  std::filesystem::path data_dir;
  topic_config defaults;
  int64_t inflight_limit_bytes = 64 << 20;  ///< per partition, see inflight_budget
  size_t flushers = 2;                      ///< detached fdatasync threads
  /// Where partitions count queue-full refusals and dead letters; may be null.
  std::shared_ptr<metrics_registry> metrics;
  /// Cluster mode: where the leaders of replicated partitions propose
  /// in-sync-set changes (see partition_settings::replicated).
  isr_writer_actor isr_writer;
  /// The actor inspector's directory: partitions and flushers are listed
  /// there as "partition/TOPIC/P" and "flusher/I"; may be null.
  std::shared_ptr<actor_directory> directory;
};

/// Spawns the registry, which loads every topic under data_dir/topics first.
/// Returns an error if the data dir cannot be used.
caf::expected<topic_registry_actor> spawn_topic_registry(caf::actor_system& sys,
                                                         registry_settings settings);

}  // namespace actormq

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::topic_config)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::topic_handle)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<actormq::topic_handle>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::producer_identity)
