#pragma once
// The delay scheduler as its users see it (the RPC layer, the TRANSACTION
// COORDINATOR, the RETRY actor): a delayed produce goes in, a reply comes
// once it is durably scheduled. One actor serves it, the DELAY SCHEDULE
// actor (delay_schedule_actor.h), on the replicated internal topic
// __delay_schedule, alone or in a cluster (docs/delay-scheduler.md).
// A previous release kept its own schedule files under <data>/delay; they
// are moved onto __delay_schedule on start (legacy_schedule.h).

#include <caf/all.hpp>

#include <memory>
#include <string>
#include <vector>

#include "actors/atoms.h"
#include "actors/delay/delay_class.h"
#include "actors/delay/delay_levels.h"
#include "actors/partition/partition_actor.h"

namespace actormq {

/// The records of a delayed produce that are due at one time, as a batch of
/// their own (the producer gave each record its own due time).
struct delayed_part {
  int64_t due_ms = 0;  ///< wall-clock ms since the epoch
  std::string batch;
};

struct delayed_produce {
  std::string topic;
  uint32_t partition = 0;
  int64_t deliver_at_ms = 0;  ///< wall-clock ms since the epoch
  std::shared_ptr<std::string> batch;
  acks_level acks = acks_level::leader;
  /// What asked for the delay: counted per class while pending.
  delay::delay_class cls = delay::delay_class::deliver_at;
  /// Set instead of batch when the records have due times of their own: one
  /// envelope per part (deliver_at_ms is the earliest), answered once every
  /// part is stored, with the first part's envelope offset.
  std::vector<delayed_part> parts = {};
};

struct schedule_reply {
  int64_t schedule_offset = -1;  ///< the envelope's offset in its __delay_schedule partition
  int64_t deliver_at_ms = 0;
  uint32_t throttled_ms = 0;  ///< set by the session, as in produce_reply
};

struct delay_stats {
  uint64_t scheduled = 0;      ///< accepted since start
  uint64_t delivered = 0;      ///< delivered since start
  uint64_t in_wheel = 0;       ///< entries in memory now
  uint64_t in_flight = 0;      ///< deliveries awaiting the target's ack
  uint64_t store_buckets = 0;  ///< bucket files of the indexes on disk
  int64_t log_start = 0;       ///< highest log start of a __delay_schedule partition
};

using delay_actor = caf::typed_actor<
    /// Schedules a delayed batch; replies once durably scheduled. Errors:
    /// unknown_topic, unknown_partition, invalid_request (deliver-at too far
    /// ahead, no batch), busy, cluster_unavailable, not_enough_replicas,
    /// timeout, storage errors.
    caf::replies_to<produce_atom, delayed_produce>::with<schedule_reply>,
    /// Counters for operators and tests.
    caf::replies_to<describe_atom>::with<delay_stats>>;

}  // namespace actormq

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::delayed_produce)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::schedule_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::delay_stats)
