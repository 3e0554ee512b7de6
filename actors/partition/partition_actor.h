#pragma once
// The PARTITION actor: sole owner of one partition's storage::log. Its
// mailbox serialises every append, so per-partition order holds by
// construction and no lock guards the log.

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "actors/atoms.h"
#include "actors/inspect/actor_report.h"
#include "actors/metrics/metrics_registry.h"
#include "actors/partition/isr_writer_actor.h"
#include "actors/partition/replication_types.h"
#include "actors/topic/topic_config.h"
#include "storage/log.h"
#include "storage/log_config.h"
#include "storage/segment.h"

namespace actormq {

/// When a produce reply is sent.
enum class acks_level : uint8_t {
  none = 0,    ///< once validated and queued (the reply does not wait for the write)
  leader = 1,  ///< once written to the log (page cache)
  fsync = 2,   ///< once fdatasync'ed (group commit)
  all = 3,     ///< once every in-sync replica has it (the high watermark passed it)
};

struct produce_request {
  /// One or more whole record batches (storage format); the partition writes
  /// base offsets into it in place, so the sender must not reuse it.
  std::shared_ptr<std::string> batches;
  acks_level acks = acks_level::leader;
};

struct produce_reply {
  int64_t base_offset = -1;
  int64_t last_offset = -1;
  bool duplicate = false;  ///< an idempotent retry: offsets of the original append
  /// Set by the session: how long it held the request for the topic's
  /// produce quota (0 = not held).
  uint32_t throttled_ms = 0;
};

struct fetch_request {
  int64_t offset = 0;
  uint32_t max_bytes = 1 << 20;
  /// Read up to the log end, past the high watermark. Only for a leader's
  /// own coordinator replaying its state partition: once it leads, its log
  /// is the truth, and an acknowledged record may still lie above its high
  /// watermark (followers learn the watermark one pull late).
  bool to_log_end = false;
  /// Read this replica up to its high watermark even while it follows.
  /// Only for the broker's own DELAY actor, which keeps an index of every
  /// replica of __delay_schedule it holds; never set from a client request.
  bool local_replica = false;
  /// Names a parked fetch (wait_atom) for unpark_atom; 0 names none. A
  /// SESSION that parks one fetch on each of several partitions gives them
  /// one token, and unparks the rest when the first answers with data.
  uint64_t park_token = 0;
};

struct fetch_reply {
  storage::read_slice slice;  ///< whole batches to send or copy (length 0: none yet)
  int64_t high_watermark = 0;
  int64_t log_start_offset = 0;
};

struct partition_offsets {
  int64_t log_start_offset = 0;
  int64_t high_watermark = 0;
  uint64_t size_bytes = 0;
  int64_t log_end_offset = 0;  ///< the next offset appended (>= high_watermark)
};

/// Shared between the partition and its producers (sessions): bytes of
/// produce requests sent but not yet answered. Senders refuse new requests
/// with errc::busy above the limit, so queued data stays bounded.
struct inflight_budget {
  std::atomic<int64_t> bytes{0};
  int64_t limit = 64 << 20;
  bool try_acquire(int64_t n) {
    if (bytes.fetch_add(n, std::memory_order_relaxed) + n > limit && n < limit) {
      bytes.fetch_sub(n, std::memory_order_relaxed);
      return false;
    }
    return true;
  }
  void release(int64_t n) { bytes.fetch_sub(n, std::memory_order_relaxed); }
};

using partition_actor = caf::typed_actor<
    /// The actor inspector's report of this actor (docs/inspector.md).
    caf::replies_to<inspect_atom>::with<actor_report>,
    /// Appends the batches; replies per the acks level with their offsets, a
    /// duplicate's original offsets, or an error (invalid_batch, busy,
    /// out_of_order_sequence, invalid_producer_epoch, storage_error, disk_full,
    /// queue_full). A bounded partition at max_messages refuses the produce
    /// with queue_full (reject-new), or appends it and replies once the oldest
    /// messages over the bound are in <topic>.dlq and the log start has moved
    /// past them (dead-letter-oldest).
    caf::replies_to<produce_atom, produce_request>::with<produce_reply>,
    /// Whole batches from the given offset (at least one if any), up to
    /// max_bytes; offset_out_of_range outside [log start, high watermark].
    caf::replies_to<fetch_atom, fetch_request>::with<fetch_reply>,
    /// A fetch that parks when the offset is the end of the log: replies
    /// with the new batches as soon as they are appended, or with an empty
    /// slice when the wait elapses (a long poll in one round trip). Errors as
    /// fetch.
    caf::replies_to<wait_atom, fetch_request, caf::timespan>::with<fetch_reply>,
    /// Answers now, with what the log holds (often an empty slice), the
    /// parked fetches whose park_token is this one; ignores a token with
    /// none parked (already answered).
    caf::reacts_to<unpark_atom, uint64_t>,
    /// Log start, high watermark and size.
    caf::replies_to<offsets_atom>::with<partition_offsets>,
    /// First offset with a timestamp >= the given ms (-1 earliest, -2 latest).
    caf::replies_to<time_atom, int64_t>::with<int64_t>,
    /// Deletes the records below the offset (Kafka's DeleteRecords): the log
    /// start moves there, never back and never past the high watermark;
    /// segments wholly below it go at the next housekeeping, and followers
    /// move their start with the leader's. Replies with the log start.
    /// not_leader on a replica that does not lead. A compacting coordinator
    /// (__consumer_offsets) calls it once the live state is rewritten above.
    caf::replies_to<delete_atom, int64_t>::with<int64_t>,
    /// The housekeeping timer, armed for when there is work (a time-based
    /// flush falling due, a retry, a leader's follower check, retention and
    /// the producer-state snapshot) and at least every idle_tick_interval.
    /// The id names the timer: only the latest one armed runs.
    caf::reacts_to<tick_atom, uint64_t>,
    /// From the flusher: the log is durable up to this offset (or failed).
    caf::reacts_to<flushed_atom, int64_t, caf::error>,
    /// Timer of the parked fetches: answers those past their deadline.
    /// The id names the timer: only the latest one clears the armed state.
    caf::reacts_to<expire_atom, uint64_t>,
    // --- replication (replicated topics only; docs/replication.md) ---
    /// A follower's pull, at the leader: records the follower's log end (the
    /// fetch offset), may advance the high watermark and the in-sync set,
    /// and replies with whole batches from the offset, parking up to the
    /// wait when there are none yet. not_leader when this partition does not
    /// lead, stale_leader_epoch when the follower follows another epoch,
    /// offset_out_of_range outside [log start, log end].
    caf::replies_to<replica_fetch_atom, replica_fetch_request,
                    caf::timespan>::with<replica_fetch_reply>,
    /// At the leader: where the given epoch ended in its log (KIP-101), for
    /// a follower of the given leader epoch (stale_leader_epoch otherwise).
    caf::replies_to<epoch_end_atom, int32_t, int32_t>::with<epoch_end>,
    /// From the replica manager: lead. A new epoch records its start (the
    /// log end) in the leader-epoch cache; the same epoch updates the
    /// in-sync set and revision. Replies true.
    caf::replies_to<lead_atom, leadership>::with<bool>,
    /// From the replica manager or fetcher: follow the broker in the given
    /// leader epoch (-1: no leader, the partition is offline). Answers
    /// parked acks=all produces with not_leader. Replies with the local
    /// log's position and the first question of its truncation check.
    caf::replies_to<follow_atom, int32_t, int32_t>::with<replica_position>,
    /// From the replica fetcher: the leader's answer, appended byte for
    /// byte, its epoch entries assigned; replies with the new log end.
    /// stale_leader_epoch when no longer following that epoch.
    caf::replies_to<replica_append_atom, int32_t, replica_fetch_reply>::with<int64_t>,
    /// From the replica fetcher, before its first pull: the leader's answer
    /// to "where did epoch E end" (leader epoch, E, answer); truncates per
    /// KIP-101/KIP-279 and replies with the position after it, which may
    /// ask about an earlier epoch. stale_leader_epoch as above.
    caf::replies_to<truncate_atom, int32_t, int32_t, epoch_end>::with<replica_position>>;

struct partition_settings {
  std::string topic;
  uint32_t partition = 0;
  /// The topic's flush policy, applied by the actor through the flusher (the
  /// log itself is opened with flush_policy::never so it never syncs inline).
  storage::flush_policy flush;
  /// How often retention runs and the producer-state snapshot is written.
  caf::timespan housekeeping_interval = std::chrono::seconds(5);
  /// How soon the tick retries what could not be done (a closed segment
  /// still unsynced, a failed dead-letter-oldest trim), and the shortest
  /// interval of a leader's check for lagging followers.
  caf::timespan tick_interval = std::chrono::milliseconds(50);
  /// The longest a partition sleeps without a tick (it then notices a
  /// write error met outside a produce). An idle partition wakes this
  /// rarely: a broker's idle cost grows with its partitions.
  caf::timespan idle_tick_interval = std::chrono::seconds(1);
  /// Bounded topic: at most this many messages (high watermark - log start);
  /// 0 = unbounded. At the bound, when_full decides (see produce_atom).
  int64_t max_messages = 0;
  full_policy when_full = full_policy::reject_new;
  /// Partition 0 of "<topic>.dlq", where dead-letter-oldest moves the oldest
  /// messages; set by the registry for that policy only.
  partition_actor dead_letters;
  /// Counters actormq_queue_full_total and actormq_dead_letters_total; may be null.
  std::shared_ptr<metrics_registry> metrics;
  /// A partition of a cluster-placed topic: it serves only while it leads
  /// (lead_atom), replicates otherwise, and consumers read below the high
  /// watermark. False: a lone broker's partition, always its own leader.
  bool replicated = false;
  /// Where a leader proposes in-sync-set changes (replicated only).
  isr_writer_actor isr_writer;
};

/// Produces refused by a full reject-new partition, labels topic, partition.
inline constexpr const char* queue_full_metric = "actormq_queue_full_total";

/// Spawns the partition actor owning an opened log (see open_partition_log).
/// flusher is a detached flusher actor shared by several partitions.
partition_actor spawn_partition(caf::actor_system& sys, partition_settings settings,
                                std::shared_ptr<storage::log> log, caf::actor flusher);

}  // namespace actormq

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::produce_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::produce_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::fetch_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::fetch_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::partition_offsets)
