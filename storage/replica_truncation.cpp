#include "storage/replica_truncation.h"

#include <fmt/format.h>

#include <algorithm>

#include "storage/errc.h"

namespace actormq::storage {

truncation_step first_truncation_step(std::span<const epoch_entry> follower_epochs, offset log_end,
                                      offset high_watermark) {
  if (follower_epochs.empty()) {
    // No epochs to compare (Kafka truncates such partitions to the high
    // watermark): the high watermark is all the follower knows was committed.
    return {std::min(high_watermark, log_end), std::nullopt};
  }
  return {log_end, follower_epochs.back().epoch};
}

result<truncation_step> next_truncation_step(std::span<const epoch_entry> follower_epochs,
                                             offset log_end, offset high_watermark,
                                             int32_t asked_epoch, epoch_end_offset answer) {
  if (answer.undefined()) {
    // KIP-101: the leader has no such epoch (e.g. its records predate epoch
    // tracking): fall back to the high watermark.
    return truncation_step{std::min(high_watermark, log_end), std::nullopt};
  }
  if (answer.leader_epoch == epoch_end_offset::undefined_epoch) {
    // An end offset without an epoch (Kafka's pre-KIP-279 answer): the
    // leader has nothing past it.
    return truncation_step{std::min(answer.end_offset, log_end), std::nullopt};
  }
  if (answer.leader_epoch > asked_epoch) {
    return {errc::invalid_argument,
            fmt::format("leader answered epoch {} to a question about epoch {}",
                        answer.leader_epoch, asked_epoch)};
  }
  // The follower's own end of the leader's epoch: its largest epoch <= it.
  auto mine = leader_epoch_cache::end_offset_for(follower_epochs, answer.leader_epoch, log_end);
  if (mine.undefined()) {
    // The leader's epoch is below every epoch the follower tracks: the
    // leader has nothing after its end offset that the follower could share.
    return truncation_step{std::min(answer.end_offset, log_end), std::nullopt};
  }
  if (mine.leader_epoch != answer.leader_epoch) {
    // KIP-279: the follower never had the leader's epoch, so where it ended
    // on the leader says nothing about the follower's records. What the
    // follower wrote after its own epoch ended diverges; cut that and ask
    // again about the follower's epoch, which the leader may also have
    // ended elsewhere.
    return truncation_step{std::min(mine.end_offset, log_end), mine.leader_epoch};
  }
  // Both have the epoch: keep what both have of it.
  return truncation_step{std::min({mine.end_offset, answer.end_offset, log_end}), std::nullopt};
}

}  // namespace actormq::storage
