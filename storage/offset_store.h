#pragma once
// Durable committed offsets of consumer groups: one append-only file of
// checksummed records, replayed into a map on open, rewritten as a snapshot
// when it grows much larger than the live set.
//
// Directory layout:
//   <dir>/offsets.log      the records below, back to back
//   <dir>/offsets.log.tmp  a snapshot being written (write_file_atomic);
//                          deleted on open
//
// Record format (all integers little-endian; the crc and body_length frame
// and its recovery are storage/framed_records.h, shared with txn_log):
//
//  offset size field         meaning
//  ------ ---- ------------- ----------------------------------------------
//     0    4   crc           uint32, CRC32C of bytes [4, 8 + body_length):
//                            the length field and the body, so a corrupt
//                            length fails the check too
//     4    4   body_length   uint32, bytes after this field (<= 1 MiB)
//     8    1   version       1
//     9    1   type          1 = commit, 2 = delete group
//    10    8   time          int64 ms since epoch: commit time / delete time
//    18    2   group_length  uint16, then group_length bytes of group name
//   commit records go on:
//     .    2   topic_length  uint16, then topic_length bytes of topic name
//     .    4   partition     int32, >= 0
//     .    8   offset        int64, >= 0: the next offset the group consumes
//     .    4   meta_length   uint32, then meta_length bytes of metadata
//   and the body ends exactly there.
//
// Replay: records are applied in file order; a commit sets (group, topic,
// partition), a delete removes every key of its group. The latest commit of a
// key wins.
//
// Recovery on open: the file is read record by record and cut at the first
// one that is torn (shorter than its length), fails its CRC or does not parse
// (its length may be what is corrupt, so nothing after it is trusted). The cut
// is a recovery_event (truncated_tail, dropped bytes) and a WARN line, never
// silent. Losing a tail of commits means consumers resume from older offsets:
// duplicates, no loss.
//
// Durability: commit() and delete_group() update the map at once (fetch sees
// them) and queue the record; flush() writes everything queued with one write
// and one fdatasync, so the caller acks a whole batch of commits per sync
// (group commit). After flush() returns, the batch survives a crash.
//
// Compaction: when, after a flush, the file exceeds compaction_ratio times
// the bytes the live records need (and min_compaction_bytes), flush()
// rewrites it with only the live records (write_file_atomic: temp file,
// fsync, rename, fsync dir). A crash before the rename leaves the old file.
//
// A failed write is cut back off the file; if that or an fdatasync fails the
// store refuses further calls (log_closed): after a failed fsync the page
// cache cannot be trusted. Reopen to recover.
//
// Users: the RETRY actor's re-drive cursors, and the GROUP COORDINATOR,
// which reads a previous release's groups/<group>/offsets.log once to move
// it into __consumer_offsets (group offsets no longer use this file).
//
// Not thread-safe: one owner calls it.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/file_handle.h"
#include "storage/recovery_report.h"
#include "storage/result.h"
#include "storage/types.h"

namespace actormq::storage {

struct offset_store_config {
  /// Compact when the file is more than this many times the live bytes.
  double compaction_ratio = 4.0;
  /// ... and at least this big, so small files are left alone.
  uint64_t min_compaction_bytes = 1 << 20;
  /// Longest metadata string a commit may carry.
  size_t max_metadata_bytes = 4096;
};

/// One partition's committed position as the group reported it.
struct committed_offset {
  offset next_offset{0};  ///< the next record the group consumes
  std::string metadata;
  timestamp_ms commit_time{0};
  bool operator==(const committed_offset&) const = default;
};

/// One entry of a commit batch.
struct offset_commit {
  std::string topic;
  int32_t partition = 0;
  offset next_offset{0};
  std::string metadata;
};

struct offset_key {
  std::string group;
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const offset_key&) const = default;
};

class offset_store {
 public:
  /// Opens or creates <dir>/offsets.log, replaying and recovering it. report,
  /// if given, receives what recovery cut or removed.
  static result<std::unique_ptr<offset_store>> open(const std::filesystem::path& dir,
                                                    offset_store_config cfg = {},
                                                    recovery_report* report = nullptr);
  ~offset_store();
  offset_store(const offset_store&) = delete;
  offset_store& operator=(const offset_store&) = delete;

  /// Records commits of group (visible at once, durable after flush()).
  /// invalid_argument for an empty or over-long name, a negative partition or
  /// offset or too much metadata; then nothing of the batch is recorded.
  status commit(std::string_view group, std::span<const offset_commit> commits, timestamp_ms now);
  /// Forgets every offset of group (durable after flush()).
  status delete_group(std::string_view group, timestamp_ms now);
  /// Writes and fdatasyncs everything queued, then compacts if due.
  status flush();
  /// Rewrites the file with only the live records (queued ones included).
  status compact();
  /// Flushes; further calls fail with log_closed.
  status close();

  std::optional<committed_offset> fetch(std::string_view group, std::string_view topic,
                                        int32_t partition) const;
  /// Every committed offset of group, by (topic, partition).
  std::map<std::pair<std::string, int32_t>, committed_offset> fetch_group(
      std::string_view group) const;
  /// Names of the groups with at least one committed offset, sorted.
  std::vector<std::string> groups() const;

  /// Bytes in the file plus bytes queued.
  uint64_t file_bytes() const { return file_size_ + pending_.size(); }
  /// Bytes a snapshot of the live records takes.
  uint64_t live_bytes() const { return live_bytes_; }
  size_t pending_records() const { return pending_records_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  struct entry {
    committed_offset value;
    uint64_t record_bytes = 0;  ///< size of its commit record
  };

  offset_store(std::filesystem::path path, offset_store_config cfg);
  status recover(recovery_report& report);
  status usable() const;
  void apply_commit(offset_key key, committed_offset value, uint64_t record_bytes);
  void apply_delete(std::string_view group);

  std::filesystem::path path_;
  offset_store_config cfg_;
  std::shared_ptr<file_handle> file_;
  uint64_t file_size_ = 0;  ///< bytes of whole records on disk
  std::vector<uint8_t> pending_;
  size_t pending_records_ = 0;
  std::map<offset_key, entry> live_;
  uint64_t live_bytes_ = 0;
  bool closed_ = false;
  bool failed_ = false;
};

}  // namespace actormq::storage
