#pragma once
// One segment of a partition log: the files <base_offset:020>.log (record
// batches back to back, format in record_batch.h), <base_offset:020>.index
// (offset_index.h) and <base_offset:020>.timeindex (time_index.h), all in the
// partition's directory. A segment holds offsets [base_offset, next_offset).
//
// Ownership: a segment is owned by its log; it is not thread-safe. The .log
// file handle is shared with read slices so bytes can be sent after the
// segment was rolled or even deleted.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "storage/file_handle.h"
#include "storage/offset_index.h"
#include "storage/record_batch.h"
#include "storage/result.h"
#include "storage/time_index.h"
#include "storage/types.h"

namespace actormq::storage {

/// A run of whole batches in one segment file, ready for sendfile or pread.
struct read_slice {
  std::shared_ptr<file_handle> file;
  file_position position{0};
  uint64_t length = 0;
  offset first_offset{0};  ///< base offset of the first batch in the slice
  offset next_offset{0};   ///< offset after the last record in the slice
};

/// The slice's bytes, copied out of its file (empty for an empty slice).
result<std::string> copy_bytes(const read_slice& slice);

/// What a recovery scan of a segment found.
struct segment_scan {
  uint64_t valid_bytes = 0;     ///< bytes of whole, valid batches from the start
  uint64_t file_bytes = 0;      ///< size of the file before any truncation
  offset next_offset{0};        ///< offset after the last valid batch
  offset first_bad_offset{-1};  ///< first offset lost (next_offset) when there is a problem
  /// Offset after the last batch found in the dropped bytes by following
  /// headers that still chain from first_bad_offset; -1 when none does.
  offset dropped_until{-1};
  std::string problem;  ///< empty when the whole file was valid
  uint32_t batches = 0;
};

class header_reader;

class segment {
 public:
  static std::string file_name(offset base, std::string_view ext);

  /// Creates empty files for a new segment at base.
  static result<std::unique_ptr<segment>> create(const std::filesystem::path& dir, offset base,
                                                 size_t index_interval_bytes, timestamp_ms now);
  /// Opens an existing segment without validating it (see scan/load_indexes).
  static result<std::unique_ptr<segment>> open(const std::filesystem::path& dir, offset base,
                                               size_t index_interval_bytes, timestamp_ms now);

  segment(const segment&) = delete;
  segment& operator=(const segment&) = delete;

  /// Walks every batch from the start, checking length, magic, counts,
  /// contiguous offsets (the first batch at base, each next one at the
  /// previous next offset) and, with check_crc, the CRC; rebuilds both indexes
  /// and the in-memory state from what is valid. Does not modify the file:
  /// call truncate_bytes(scan.valid_bytes) to cut a bad tail.
  result<segment_scan> scan(bool check_crc, size_t max_batch_bytes);
  /// Loads both index files for a segment closed cleanly, checking them
  /// against the .log: first and last offset index entries, the headers from
  /// the last indexed batch to the end of the file (which also completes a
  /// short index), the last time index entry. corrupt_segment/not_found when
  /// an index is unusable; the caller then scans.
  status load_indexes();

  /// Appends one whole, validated batch whose base offset is already set.
  status append(std::span<const uint8_t> batch, const batch_header& h);
  /// Whole batches starting at the batch that holds start, at most max_bytes
  /// (but always at least one batch), only those whose last offset is below
  /// end. Empty slice (length 0) when start >= next_offset(), start >= end,
  /// or the batch holding start reaches end.
  result<read_slice> read(offset start, uint64_t max_bytes, offset end) const;
  /// Base offset of the first batch holding a record with timestamp >= ts.
  result<std::optional<offset>> offset_for_timestamp(timestamp_ms ts) const;
  /// Removes every batch whose last offset is >= o; returns the new next offset.
  result<offset> truncate_to(offset o);
  /// Cuts the .log at a byte count (recovery of a torn tail).
  status truncate_bytes(uint64_t size);

  status flush();  ///< fdatasync the .log and write the indexes
  /// Writes the index files (no sync). They are derived data: recovery
  /// rebuilds them when they are missing or do not match the .log.
  status flush_indexes();
  status remove();  ///< deletes all three files
  /// Moves the three files into dir/quarantine/ for an operator to inspect.
  status quarantine(const std::filesystem::path& quarantine_dir);

  offset base_offset() const { return base_; }
  offset next_offset() const { return next_; }
  uint64_t size_bytes() const { return size_; }
  bool empty() const { return size_ == 0; }
  timestamp_ms max_timestamp() const { return max_ts_; }
  timestamp_ms created_at() const { return created_; }
  const std::shared_ptr<file_handle>& file() const { return file_; }
  const offset_index& index() const { return index_; }
  const time_index& timeindex() const { return time_index_; }
  const std::filesystem::path& path() const { return file_->path(); }

 private:
  segment(std::shared_ptr<file_handle> f, offset base, size_t index_interval,
          const std::filesystem::path& dir, timestamp_ms created);
  /// Reads the header of the batch at pos, or nullopt at the end of the data.
  result<std::optional<batch_header>> header_at(file_position pos) const;
  /// Position and header of the first batch whose last offset >= target.
  result<std::optional<std::pair<file_position, batch_header>>> locate(offset target) const;
  /// The same, reading headers through headers (which a caller walks on).
  result<std::optional<std::pair<file_position, batch_header>>> locate(
      offset target, header_reader& headers) const;
  void index_batch(const batch_header& h, file_position pos);
  /// Why the header h at pos cannot be the batch expected there during a
  /// walk (expect: its base offset); empty when it can.
  std::string walk_problem(const batch_header& h, offset expect, uint64_t pos) const;
  /// Logs a corruption a walk met, once per segment.
  void report_corruption(const std::string& why) const;
  /// Checks the CRC of every batch from verified_ up to end (a byte
  /// position), once per segment and process: a closed segment is not
  /// CRC-checked on open, so its batches are checked before they are first
  /// served. Sets bad_at_ at the first batch that fails.
  status verify_through(uint64_t end) const;
  /// After a truncation: what was verified or found bad past the end goes.
  void forget_past_end();

  std::shared_ptr<file_handle> file_;
  offset base_;
  offset next_;
  uint64_t size_ = 0;
  size_t index_interval_;
  uint64_t bytes_since_index_ = 0;
  bool force_index_ = true;
  timestamp_ms max_ts_{-1};
  timestamp_ms created_;
  offset_index index_;
  time_index time_index_;
  mutable bool corruption_reported_ = false;
  /// Bytes from the start whose batches passed their CRC in this process
  /// (a scan with the CRC on open, appends, which are validated, or
  /// verify_through).
  mutable uint64_t verified_ = 0;
  /// Position of the first batch that failed its CRC: nothing from there
  /// on is served.
  mutable std::optional<uint64_t> bad_at_;
};

}  // namespace actormq::storage
