#pragma once
// One partition's append-only log: a directory of segments (segment.h).
//
// Directory layout:
//   <dir>/00000000000000000000.log|.index|.timeindex   segments by base offset
//   <dir>/.clean_shutdown     present only after a clean close(); removed on open
//   <dir>/log_start           the logical log start set by advance_start()
//                             (offset_checkpoint.h format; absent = none)
//   <dir>/recovery-point      closed segments ending at or below it are synced
//                             (recovery_point.h; absent = a log from before it)
//   <dir>/quarantine/         segments that failed validation, kept for operators
// The partition keeps two more files in the same directory, which the log
// leaves alone: high-watermark (offset_checkpoint.h) and
// leader-epoch-checkpoint (leader_epoch_cache.h).
//
// Offsets: log_start_offset() <= next_offset(). The log itself knows no
// replication: a replicated partition keeps its high watermark outside and
// serves consumers with read(start, max_bytes, high_watermark), which never
// returns a batch reaching it. high_watermark() here is next_offset(), the
// right value for a partition without replicas. flushed_offset() tells what
// is on disk.
//
// A roll does not sync the segment it closes (that would stall the append
// for as long as the disk takes to write it): the owner's next sync covers it
// (sync_target() run by the flusher, or flush()), and raises the recovery
// point once it returns.
//
// Recovery on open: the tail (active) segment is always validated batch by
// batch including CRC, and cut at the first bad batch. After a clean shutdown
// older segments keep their index files once these are checked against the
// .log (else the indexes are rebuilt). After an unclean shutdown, closed
// segments ending at or below the recovery point get a header walk (length,
// magic, counts, contiguous offsets) and rebuilt indexes, and a failing or
// overlapping one is quarantined; closed segments past it were never synced
// and are checked like the tail: at the first bad batch the log is cut, and
// every later segment is quarantined. Each action is in the recovery_report
// and logged at WARN. docs/storage-format.md has the details.
//
// Not thread-safe: one owner (the partition actor) calls it. Read slices stay
// valid after later appends, rolls and deletions (they hold the file open).

#include <deque>
#include <filesystem>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "storage/log_config.h"
#include "storage/recovery_point.h"
#include "storage/recovery_report.h"
#include "storage/result.h"
#include "storage/segment.h"
#include "storage/sync_plan.h"
#include "storage/validated_batches.h"

namespace actormq::storage {

struct append_result {
  offset base_offset{0};
  offset last_offset{0};
  int32_t batches = 0;
  bool flushed = false;  ///< the flush policy synced this append to disk
  int32_t rolled = 0;    ///< segments this append closed; the owner's next sync covers them
};

class log {
 public:
  /// Opens or creates the log in dir, running recovery. report, if given,
  /// receives what recovery did.
  static result<std::unique_ptr<log>> open(const std::filesystem::path& dir, log_config cfg,
                                           recovery_report* report = nullptr);
  ~log();
  log(const log&) = delete;
  log& operator=(const log&) = delete;

  /// Validates and appends one or more whole batches laid back to back in
  /// batches, assigning consecutive offsets (it writes each base_offset field
  /// in place). Either all batches are appended or none.
  result<append_result> append(std::span<uint8_t> batches);
  /// The first half of append: validates batches as append does (size
  /// bounded by max_batch_bytes) without writing anything.
  result<validated_batches> validate(std::span<uint8_t> batches) const;
  /// The second half: appends what validate() accepted, without checking it
  /// again (validated_batches.h). The bytes must not have changed since.
  result<append_result> append(validated_batches batches);
  /// Appends batches copied from a leader's log as they are: their base
  /// offsets are already set and are not rewritten. Each batch is validated
  /// like append's (header, CRC, records per validate_records; size bounded by
  /// the format, not by max_batch_bytes, which the leader applied); the first
  /// must start at next_offset() and each next one where the previous ended,
  /// else offset_mismatch with a detail saying expected vs got. All or
  /// nothing, rolls and the flush policy as append.
  result<append_result> append_replicated(std::span<const uint8_t> batches);
  /// Whole batches from the one holding start, up to max_bytes (at least one
  /// batch). offset_out_of_range below log_start or above next_offset; an
  /// empty slice at next_offset.
  result<read_slice> read(offset start, uint64_t max_bytes) const;
  /// The same, limited to whole batches whose last offset is below end_limit
  /// (a consumer's read below the high watermark). start in
  /// [end_limit, next_offset], or a batch holding start that reaches
  /// end_limit, gives an empty slice at start; offset_out_of_range as above.
  /// With end_limit >= next_offset() it costs what read(start, max_bytes) does.
  result<read_slice> read(offset start, uint64_t max_bytes, offset end_limit) const;
  /// First offset whose batch holds a timestamp >= ts, or next_offset().
  result<offset> offset_for_timestamp(timestamp_ms ts) const;

  status flush();
  /// For a flush done elsewhere (group commit on another thread): the files to
  /// sync (closed segments not synced yet, then the active one) and the offset
  /// that makes durable. Run it anywhere, then call
  /// mark_flushed(plan.ticket()) once it succeeded.
  sync_plan sync_target() const;
  /// Offsets below t.up_to are on disk, unless the log was truncated since
  /// the sync was planned (t.epoch differs): then the call does nothing.
  void mark_flushed(const sync_ticket& t);
  /// Flushes if the time rule of the flush policy is due; call on a timer.
  status maybe_flush();
  /// Starts a new active segment at next_offset (no-op when it is empty).
  status roll();
  /// Deletes whole segments past the size/time retention limits; returns
  /// how many were deleted.
  result<size_t> apply_retention();
  /// Removes every batch whose last offset is >= o (the log ends at a batch
  /// boundary at or before o). Below log_start_offset() the log is left empty
  /// at its log start. Everything left is on disk afterwards.
  status truncate(offset o);
  /// Moves the logical log start up to o (clamped to next_offset()) and
  /// persists it in <dir>/log_start before returning: reads below it fail
  /// with offset_out_of_range from then on, also after a reopen, and
  /// apply_retention() deletes the segments wholly below it. A no-op when o
  /// is not above the current start (the start never moves back).
  status advance_start(offset o);
  /// Drops every segment and restarts the log empty at o (log start = next
  /// offset = o): a follower whose leader no longer holds what the follower
  /// would pull next (Kafka's truncateFullyAndStartAt). o may be above or
  /// below the current end. A crash part way leaves an empty log (at 0 or
  /// at o), never old records next to the new start.
  status truncate_fully_and_start_at(offset o);
  /// Syncs every segment not synced yet and writes the clean-shutdown marker.
  /// Further calls fail.
  status close();
  /// Stops using a log whose directory is being deleted: writes nothing
  /// (no flush, no clean-shutdown marker); the files close with the log.
  void abandon();
  /// Marks the log unusable until it is reopened: a sync of its active file
  /// done elsewhere (the group-commit flusher) failed, and after a failed
  /// fdatasync the page cache cannot be trusted (fsyncgate). Appends fail
  /// with log_closed, and close() writes no clean-shutdown marker, so the
  /// reopen runs recovery.
  void fail() { failed_ = true; }
  /// A write error left the log unusable (fail(), a failed fdatasync, a cut
  /// of a refused append that did not reach the disk): only a reopen, which
  /// runs recovery, makes it usable again.
  bool failed() const { return failed_; }

  offset log_start_offset() const;
  offset next_offset() const { return segments_.back()->next_offset(); }
  offset high_watermark() const { return next_offset(); }
  offset flushed_offset() const { return flushed_; }
  /// A closed segment waits for a sync (a roll happened since the last one).
  bool closed_unsynced() const {
    return segments_.size() > 1 && segments_[segments_.size() - 2]->next_offset() > flushed_;
  }
  /// Closed segments ending at or below it are known to be on disk.
  offset recovery_point_offset() const { return point_->value(); }
  uint64_t size_bytes() const;
  size_t segment_count() const { return segments_.size(); }
  uint64_t unflushed_messages() const { return unflushed_msgs_; }
  const std::filesystem::path& dir() const { return dir_; }
  const log_config& config() const { return cfg_; }
  const std::deque<std::unique_ptr<segment>>& segments() const { return segments_; }

 private:
  log(std::filesystem::path dir, log_config cfg);
  status recover(recovery_report& report);
  /// Validates batches laid back to back; (position, header) of each.
  result<std::vector<std::pair<size_t, batch_header>>> validate_all(
      std::span<const uint8_t> batches, size_t max_batch_bytes) const;
  /// Writes validated batches whose base offsets continue the log.
  result<append_result> write_batches(std::span<const uint8_t> batches,
                                      const std::vector<std::pair<size_t, batch_header>>& parsed);
  result<read_slice> read_below(offset start, uint64_t max_bytes, offset end) const;
  status roll_at(offset base);
  /// Recovery's last step: syncs the closed segments ending past synced_below
  /// and sets the recovery point to the active segment's base, when that
  /// raises it or rewrite (the file was missing or unreadable) is set.
  status settle_recovery_point(bool rewrite, offset synced_below);
  timestamp_ms now() const { return cfg_.clock(); }

  std::filesystem::path dir_;
  log_config cfg_;
  std::deque<std::unique_ptr<segment>> segments_;
  std::shared_ptr<recovery_point> point_;
  uint64_t rolls_ = 0;             ///< segments created by rolls, ever
  uint64_t dir_synced_rolls_ = 0;  ///< rolls whose new file name is on disk
  offset flushed_{0};
  offset start_floor_{0};  ///< set by advance_start(); log_start_offset() >= it
  uint64_t unflushed_msgs_ = 0;
  timestamp_ms oldest_unflushed_{-1};
  bool closed_ = false;
  bool failed_ = false;  ///< a write error left the log unusable until reopened
};

}  // namespace actormq::storage
