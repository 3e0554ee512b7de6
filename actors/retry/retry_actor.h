#pragma once
// The RETRY actor (one per broker): carries out consumers' nacks and
// rejects, dead-letters, alerts, and re-drives dead letters back.
//
// A nack of record (topic, partition, offset) by group G reads the record
// from its partition (in a cluster wherever that is led), then either
// schedules a copy with retry headers to T.G.retry through the delay
// scheduler (an envelope on __delay_schedule) at now + the group's backoff,
// or produces a dead letter to T.G.dlq and raises an alert (WARN line,
// counter, optional hook). Writes are acks fsync alone, all in a cluster. It replies once every
// record of the request is durable, so the consumer may then commit past
// them. Topic naming: retry_topics.h; headers: retry_headers.h.
//
// A re-drive consumes a DLQ from its cursor, the committed offset of the
// internal group "__redrive" on the DLQ in __consumer_offsets (a standalone
// commit through the local GROUP COORDINATOR, so re-drives run on the
// broker that coordinates __redrive; a previous release's
// <data>/retry/offsets.log is moved there): each
// selected dead letter goes back to its original topic and partition
// (redrive count + 1; refused at the limit), every other one is appended to
// the DLQ again, and the cursor moves past a chunk only after all of its
// produces were acknowledged (fsync alone, all in a cluster). Dead letters pending in a DLQ are
// those from its cursor on. Interrupted, a re-drive repeats at most one
// chunk: at-least-once.

#include <caf/all.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "actors/atoms.h"
#include "actors/delay/delay_actor.h"
#include "actors/group/group_actor.h"
#include "actors/group/topic_counts.h"
#include "actors/inspect/actor_report.h"
#include "actors/metrics/metrics_registry.h"
#include "actors/retry/alert_hook.h"
#include "actors/retry/retry_policy.h"
#include "actors/state/partition_writer.h"
#include "actors/topic/topic_registry_actor.h"

namespace actormq {

/// One record a consumer gives back.
struct nack_item {
  std::string topic;  ///< as fetched: the topic or its retry topic
  uint32_t partition = 0;
  int64_t offset = 0;
  bool reject = false;  ///< dead-letter now (reason rejected)
  /// Dead-letter now with this reason ("ttl_expired", "max_retries"); empty
  /// = retry per policy (or reject).
  std::string reason;
  std::string error;        ///< the consumer's error text
  uint32_t deliveries = 0;  ///< delivery count known to the client; 0 = from the headers
};

struct nack_request {
  std::string group;
  std::vector<nack_item> items;
};

struct nack_reply {
  uint32_t retried = 0;
  uint32_t dead_lettered = 0;
};

struct redrive_request {
  std::string dlq_topic;
  std::string reason;  ///< empty = any
  int64_t from_offset = 0;
  int64_t to_offset = -1;  ///< exclusive; -1 = the DLQ's end when the re-drive starts
};

struct redrive_reply {
  uint64_t moved = 0;
  uint64_t refused = 0;     ///< re-driven max_redrives times already: kept in the DLQ
  int64_t next_offset = 0;  ///< the DLQ's cursor afterwards
};

using retry_actor = caf::typed_actor<
    /// The actor inspector's report of this actor (docs/inspector.md).
    caf::replies_to<inspect_atom>::with<actor_report>,
    /// Retries or dead-letters each record; replies once all are durable.
    /// Errors: unknown_topic, offset_out_of_range (record gone),
    /// invalid_request (bad reason), storage errors of the targets.
    caf::replies_to<nack_atom, nack_request>::with<nack_reply>,
    /// Re-drives a DLQ (see above). Errors: unknown_topic, invalid_request,
    /// not_coordinator (ask the coordinator of group __redrive).
    caf::replies_to<redrive_atom, redrive_request>::with<redrive_reply>,
    /// The re-drive cursor of a DLQ: the first pending dead letter. Errors:
    /// not_coordinator (ask the coordinator of group __redrive).
    caf::replies_to<offsets_atom, std::string>::with<int64_t>,
    /// Counters of the metrics registry (dead letters per topic/group/reason).
    caf::replies_to<describe_atom>::with<std::vector<metrics_registry::sample>>,
    /// The message trace (docs/inspector.md, "Message trace"): every copy
    /// of the message at topic/partition/offset in the retry and
    /// dead-letter topics of its topic, as a JSON document
    /// {"copies":[...],"scanned_bytes":N,"truncated":bool}. Reads at most
    /// 64 MiB (truncated: the bound cut the scan). Errors: those of the
    /// reads (cluster_unavailable, not_leader, ...).
    caf::replies_to<trace_atom, std::string, int32_t, int64_t>::with<std::string>,
    /// The same for the message of topic whose message id (the amq-id
    /// header, 16 bytes) is id: its partitions are read from their log
    /// start until it is found (within the same 64 MiB), then its copies;
    /// the answer adds "id" and the partition and offset found. not_found
    /// (unknown_offset) when no record of the topic has the id.
    caf::replies_to<trace_atom, std::string, std::string>::with<std::string>,
    /// Shutdown: quit.
    caf::reacts_to<close_atom>>;

struct retry_actor_settings {
  /// <data>/retry: where a previous release kept its re-drive cursors.
  std::filesystem::path dir;
  topic_registry_actor registry;
  /// Where records are read and dead letters written: alone the local
  /// partitions; in a cluster wherever each partition is led (leader table
  /// and PEERS set).
  partition_writer_settings cluster;
  /// Cluster only (null alone): every topic's partition count. In a cluster
  /// the RETRY actor creates no topic: the consumer creates its retry and
  /// dead-letter topics when it subscribes.
  std::shared_ptr<const group::topic_counts> cluster_topics;
  delay_actor delay;
  /// Holds the re-drive cursors (group __redrive in __consumer_offsets).
  group_coordinator_actor coordinator;
  topic_config topic_defaults;  ///< for auto-created retry and DLQ topics
  retry::retry_settings retry;
  std::shared_ptr<metrics_registry> metrics;
  std::shared_ptr<retry::alert_hook> alerts;  ///< null = no hook
};

caf::expected<retry_actor> spawn_retry_actor(caf::actor_system& sys, retry_actor_settings settings);

/// Counter name of dead letters, labels topic, group, reason.
inline constexpr const char* dead_letters_metric = "actormq_dead_letters_total";

}  // namespace actormq

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::nack_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::nack_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::redrive_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::redrive_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<actormq::metrics_registry::sample>)
