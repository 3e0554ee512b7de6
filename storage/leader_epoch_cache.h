#pragma once
// A partition's leader epochs: for each epoch in which records were written,
// the first offset written in it (Kafka's LeaderEpochFileCache, KIP-101). A
// follower asks the leader where its latest epoch ended and truncates what
// the leader does not have (replica_truncation.h); the leader answers from
// its own cache with end_offset_for().
//
// File: <partition dir>/leader-epoch-checkpoint, ASCII text, '\n' line ends:
//
//   leader-epoch-checkpoint v1        format name and version
//   <n>                               number of entries, decimal
//   <epoch> <start_offset>            n lines, one entry each: two decimal
//   ...                               numbers >= 0 separated by one space;
//                                     epochs and start offsets both strictly
//                                     increasing from line to line
//   crc32c <8 hex digits>             CRC32C (Castagnoli) of every byte of
//                                     the file before this line, lowercase hex
//
// Example (epoch 0 from offset 0, epoch 2 from offset 150):
//
//   leader-epoch-checkpoint v1
//   2
//   0 0
//   2 150
//   crc32c 382979b0
//
// Nothing may follow the crc line. The file is replaced whole on every change
// (write_file_atomic: <file>.tmp, fdatasync, rename, fsync the directory), so
// it is never torn by a crash; a file that is torn or altered anyway fails
// the checks above and open() returns errc::corrupt_checkpoint with a detail
// naming the file and the line. A missing file is an empty cache.
//
// Every change is written to the file before it is made in memory: when the
// write fails the cache is unchanged and the error is returned.
//
// Not thread-safe: one owner (the partition) calls it.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

#include "storage/result.h"
#include "storage/types.h"

namespace actormq::storage {

/// The first offset written in a leader epoch.
struct epoch_entry {
  int32_t epoch = 0;
  offset start_offset{0};
  bool operator==(const epoch_entry&) const = default;
};

/// Where an epoch ended: the answer to "where did epoch E end?" (Kafka's
/// OffsetsForLeaderEpoch response). undefined() when the epoch is unknown.
struct epoch_end_offset {
  static constexpr int32_t undefined_epoch = -1;
  int32_t leader_epoch = undefined_epoch;
  offset end_offset{-1};
  bool undefined() const { return end_offset < offset(0); }
  bool operator==(const epoch_end_offset&) const = default;
};

class leader_epoch_cache {
 public:
  static constexpr const char* file_name = "leader-epoch-checkpoint";

  /// Loads dir/leader-epoch-checkpoint (an empty cache when it does not
  /// exist). corrupt_checkpoint, with the file and line in the detail, when
  /// it does not parse, fails its CRC or breaks the ordering.
  static result<leader_epoch_cache> open(const std::filesystem::path& dir);

  /// Records that epoch starts at start (Kafka's assign):
  /// - the latest epoch again at the same or a later offset: nothing to do;
  /// - an epoch below the latest at an offset not below the latest's start:
  ///   stale_leader_epoch (a write from a deposed leader);
  /// - otherwise entries with epoch >= epoch or start >= start are removed
  ///   (their records were truncated away) and the entry is appended.
  /// invalid_argument for a negative epoch or offset.
  status assign(int32_t epoch, offset start);

  std::optional<int32_t> latest_epoch() const;
  const std::vector<epoch_entry>& entries() const { return entries_; }

  /// KIP-101/KIP-279: where requested_epoch ended in this log, log_end being
  /// the log's next offset. See the static overload.
  epoch_end_offset end_offset_for(int32_t requested_epoch, offset log_end) const {
    return end_offset_for(entries_, requested_epoch, log_end);
  }
  /// The same over any entries (the truncation rule uses it on both sides):
  /// - requested == the latest epoch: (latest, log_end);
  /// - otherwise the largest epoch <= requested, ending where the next entry
  ///   starts;
  /// - undefined (-1, -1) when there are no entries, when requested is below
  ///   the first epoch or above the latest, or requested is -1.
  static epoch_end_offset end_offset_for(std::span<const epoch_entry> entries,
                                         int32_t requested_epoch, offset log_end);

  /// After the log was truncated to end: drops entries with start >= end.
  status truncate_from_end(offset end);
  /// After the log start moved up to start: the entry covering start now
  /// starts there and the entries before it go. Entries starting after start
  /// are kept.
  status truncate_from_start(offset start);

  const std::filesystem::path& path() const { return path_; }

 private:
  explicit leader_epoch_cache(std::filesystem::path path) : path_(std::move(path)) {}
  /// Writes next to the file, then makes it the cache.
  status replace(std::vector<epoch_entry> next);

  std::filesystem::path path_;
  std::vector<epoch_entry> entries_;  ///< by epoch; starts strictly increasing too
};

}  // namespace actormq::storage
