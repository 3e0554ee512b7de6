#pragma once
// The DELAY SCHEDULE actor: delayed messages on the replicated internal
// topic __delay_schedule (docs/delay-scheduler.md, "In a cluster"). It
// replaces the DELAY actor's own files once wired into the broker.
//
// Scheduling: any broker's DELAY SCHEDULE actor takes a delayed produce,
// wraps it in an envelope record and appends it to the schedule partition of
// its target (delay::schedule_partition_of) wherever that partition is led
// (partition_writer); the reply comes once the partition acknowledged it.
//
// Delivery: for each schedule partition led here, one
// delay::schedule_partition. On lead the actor applies the partition up to
// the log end it had then (its high watermark must reach it), repeats the
// unfinished dispatches, and then delivers due envelopes in dispatches: the
// dispatch record first (acks=all), then one batch per target through
// partition_writer, a target's batches one at a time in sequence order.
// Progress records follow; every gc_interval a sequences record is written
// and the records below what is still needed, delivered keep_delivered ago,
// are deleted.
//
// Alone (not replicated) it creates __delay_schedule with `partitions`
// partitions at start and leads them all; delayed produces that come
// before that are held (up to 10000, then refused with busy).
//
// Upgrade: a previous release's pending delayed messages under legacy_dir
// are appended to __delay_schedule, a chunk at a time, once it can take
// them; then legacy_dir is removed.

#include <caf/all.hpp>

#include <chrono>
#include <filesystem>

#include "actors/atoms.h"
#include "actors/delay/delay_actor.h"
#include "actors/delay/delay_levels.h"
#include "actors/inspect/actor_report.h"
#include "actors/partition/partition_actor.h"
#include "actors/state/partition_writer.h"
#include "actors/topic/topic_registry_actor.h"

namespace actormq {

/// The scheduler's interface (delay_actor.h: produce, describe) and its own
/// messages.
using delay_schedule_actor = delay_actor::extend<
    /// The actor inspector's report of this actor (docs/inspector.md).
    caf::replies_to<inspect_atom>::with<actor_report>,
    /// This broker leads partition p (of n) of __delay_schedule at epoch.
    caf::reacts_to<lead_atom, uint32_t, int32_t, partition_actor, uint32_t>,
    /// This broker no longer leads partition p: stop delivering it.
    caf::reacts_to<follow_atom, uint32_t>,
    /// Timer (its id: one armed at a time): apply new records, deliver,
    /// record progress, collect, move the previous release's schedule.
    caf::reacts_to<tick_atom, uint64_t>,
    /// Shutdown: checkpoint the indexes and quit.
    caf::reacts_to<close_atom>>;

struct delay_schedule_settings {
  std::filesystem::path dir;  ///< <data>/delay-schedule: an index per partition
  /// <data>/delay: a previous release's schedule, moved onto
  /// __delay_schedule on start and then removed (legacy_schedule.h); empty:
  /// none.
  std::filesystem::path legacy_dir;
  topic_registry_actor registry;
  partition_writer_settings writer;
  bool replicated = false;
  uint32_t partitions = 8;  ///< alone: partitions of __delay_schedule
  /// Alone: segment size of __delay_schedule's partitions.
  int64_t segment_bytes = 64ll << 20;
  std::chrono::milliseconds bucket_width{std::chrono::minutes(1)};
  std::chrono::milliseconds load_ahead{std::chrono::minutes(2)};
  /// The timer's longest wait while anything is under way, and when
  /// nothing is (it is armed for its work: a due entry, a retry, a read).
  std::chrono::milliseconds tick{5};
  std::chrono::milliseconds idle_tick{std::chrono::seconds(1)};
  std::chrono::milliseconds checkpoint_interval{200};
  std::chrono::milliseconds gc_interval{std::chrono::seconds(5)};
  /// Delivered envelopes (and the dispatches that delivered them) stay this
  /// long for /api/trace before collection deletes them, unless a
  /// partition holds more than keep_delivered_bytes (0: collected at once).
  std::chrono::milliseconds keep_delivered{std::chrono::minutes(5)};
  uint64_t keep_delivered_bytes = 128ull << 20;
  std::chrono::milliseconds max_delay = delay::max_delay;
  /// The broker's message delay levels: the inspector names each level's
  /// delay ("3" is "10s").
  delay::delay_levels delay_levels = delay::delay_levels::message_defaults();
  /// Partition p delivers as producer producer_id_base + p (far above the
  /// ids the cluster hands out).
  int64_t producer_id_base = int64_t{1} << 62;
};

delay_schedule_actor spawn_delay_schedule_actor(caf::actor_system& sys,
                                                delay_schedule_settings settings);

}  // namespace actormq
