#pragma once
// The DELAY actor: schedules delayed messages (delay level or deliver-at
// time) and delivers each to its target partition at its time.
//
// Durability: on arrival a delayed request is appended to the internal
// schedule log (<data>/delay/log, one envelope batch per request, see
// schedule_envelope.h) and its (due, offset) entry to the schedule store
// (<data>/delay/schedule, storage::schedule_store). With acks fsync both are
// synced before the reply; otherwise within flush_interval.
//
// Memory: only entries due within load_ahead of now sit in the timing wheel;
// later ones stay in the store's bucket files and are loaded as their bucket
// comes near, so memory does not grow with the number of pending messages.
//
// Delivery: at its time an entry's envelope is read back and its batch
// produced to the target partition (acks fsync). Once every entry due up to
// T is durably delivered, the store records "delivered through T" and drops
// whole delivered buckets. A crash between delivery and that record
// delivers again after restart: at-least-once, the records (and any id
// header they carry) unchanged. Entries with equal due times fire in arrival
// order, so one key's messages with one due time keep their order.

#include <caf/all.hpp>

#include <filesystem>
#include <memory>
#include <string>

#include "actors/atoms.h"
#include "actors/delay/delay_levels.h"
#include "actors/partition/partition_actor.h"
#include "actors/topic/topic_registry_actor.h"

namespace actormq {

struct delayed_produce {
  std::string topic;
  uint32_t partition = 0;
  int64_t deliver_at_ms = 0;  ///< wall-clock ms since the epoch
  std::shared_ptr<std::string> batch;
  acks_level acks = acks_level::leader;
};

struct schedule_reply {
  int64_t schedule_offset = -1;  ///< the envelope's offset in the schedule log
  int64_t deliver_at_ms = 0;
};

struct delay_stats {
  uint64_t scheduled = 0;      ///< accepted since start
  uint64_t delivered = 0;      ///< delivered since start
  uint64_t in_wheel = 0;       ///< entries in memory now
  uint64_t in_flight = 0;      ///< deliveries awaiting the target's ack
  uint64_t store_buckets = 0;  ///< bucket files on disk
  int64_t delivered_through_ms = 0;
  int64_t log_start = 0;      ///< lowest schedule-log offset still kept
  uint64_t log_bytes = 0;     ///< schedule-log bytes on disk
  uint64_t log_segments = 0;  ///< schedule-log segment files
};

using delay_actor = caf::typed_actor<
    /// Schedules a delayed batch; replies once stored (per acks). Errors:
    /// unknown_topic, unknown_partition, invalid_batch, invalid_request
    /// (deliver-at too far ahead), storage_error.
    caf::replies_to<produce_atom, delayed_produce>::with<schedule_reply>,
    /// Counters for operators and tests.
    caf::replies_to<describe_atom>::with<delay_stats>,
    /// Timer: advance the wheel, deliver, load buckets, record progress.
    caf::reacts_to<tick_atom>,
    /// Shutdown: flush and quit.
    caf::reacts_to<close_atom>>;

struct delay_settings {
  std::filesystem::path dir;  ///< <data>/delay
  topic_registry_actor registry;
  std::chrono::milliseconds bucket_width{std::chrono::minutes(1)};
  std::chrono::milliseconds load_ahead{std::chrono::minutes(2)};
  std::chrono::milliseconds tick{std::chrono::milliseconds(5)};
  std::chrono::milliseconds flush_interval{std::chrono::milliseconds(100)};
  std::chrono::milliseconds max_delay = delay::max_delay;
  size_t max_deliveries_in_flight = 10000;
  /// Segment size of the schedule log. Segments wholly below the lowest
  /// pending envelope are deleted (every gc_interval).
  uint64_t segment_bytes = 64ull << 20;
  std::chrono::milliseconds gc_interval{std::chrono::seconds(5)};
};

caf::expected<delay_actor> spawn_delay_actor(caf::actor_system& sys, delay_settings settings);

}  // namespace actormq

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::delayed_produce)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::schedule_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::delay_stats)
