#pragma once
// The follower side of KIP-101 (leader epochs for truncation) with KIP-279's
// loop: which epoch a follower asks the leader about, and how far it
// truncates its log once the leader answered. Pure functions over the
// follower's epoch entries (leader_epoch_cache::entries()) and offsets: the
// partition actor does the asking, the truncating and the looping.
//
// The exchange, for a follower that becomes a follower (or restarts):
//
//   step = first_truncation_step(cache.entries(), log.next_offset(), hw);
//   while (step.ask_epoch) {
//     truncate(step.truncate_to);          // see below; a no-op at first
//     answer = leader.end_offset_for(*step.ask_epoch);   // OffsetsForLeaderEpoch
//     step = next_truncation_step(cache.entries(), log.next_offset(), hw,
//                                 *step.ask_epoch, answer);
//   }
//   truncate(step.truncate_to);            // then fetch from log.next_offset()
//
// where truncate(o) is log.truncate(o) followed by
// cache.truncate_from_end(log.next_offset()) (the log cuts at a batch
// boundary at or before o). The loop ends: each further question asks about
// a strictly smaller epoch than the one before.
//
// Why not truncate to the high watermark (the pre-KIP-101 rule): a follower's
// high watermark lags the leader's by one fetch, so truncating to it can drop
// records that were acknowledged (KIP-101 scenario 1), and two replicas that
// both restart can keep different records at the same offset (scenario 2).
// The high watermark is only the fallback when epochs are unknown.

#include <cstdint>
#include <optional>
#include <span>

#include "storage/leader_epoch_cache.h"
#include "storage/result.h"
#include "storage/types.h"

namespace actormq::storage {

/// What the follower does next.
struct truncation_step {
  /// Truncate the log to this offset (no-op when >= the log end).
  offset truncate_to{0};
  /// Set: after truncating, ask the leader where this epoch ended and call
  /// next_truncation_step with its answer. Unset: truncation is complete.
  std::optional<int32_t> ask_epoch;
  bool operator==(const truncation_step&) const = default;
};

/// The first step: ask about the follower's latest epoch; with no epoch
/// known (an empty cache, e.g. a new replica) there is nothing to ask and the
/// follower truncates to its high watermark.
truncation_step first_truncation_step(std::span<const epoch_entry> follower_epochs, offset log_end,
                                      offset high_watermark);

/// The step after the leader answered `answer` to "where did asked_epoch
/// end?" (Kafka's AbstractFetcherThread.getOffsetTruncationState):
/// - undefined answer (the leader does not know the epoch): truncate to the
///   high watermark, done;
/// - the leader's epoch is unknown to the follower (below its first epoch):
///   truncate to min(leader end, log end), done;
/// - the follower's largest epoch <= the leader's epoch is that same epoch:
///   truncate to min(follower's end of it, leader end, log end), done;
/// - it is an earlier epoch (KIP-279: the leader answered with an epoch the
///   follower never had): truncate to min(follower's end of its own epoch,
///   log end) and ask again about that epoch.
/// invalid_argument when the answer names an epoch above the one asked (a
/// leader never does).
result<truncation_step> next_truncation_step(std::span<const epoch_entry> follower_epochs,
                                             offset log_end, offset high_watermark,
                                             int32_t asked_epoch, epoch_end_offset answer);

}  // namespace actormq::storage
