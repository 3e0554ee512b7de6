#pragma once
// The durable, memory-bounded store of the delay scheduler: every pending
// scheduled entry (due time, kind, id) lives here, bucketed by due time, so
// that only the buckets near the clock need to be in memory (in the timing
// wheel, actors/delay/timing_wheel.h). Payloads are not stored here: an
// entry's (kind, id) names them (e.g. the message's offset in the internal
// schedule log, owned by the delay actor).
//
// Directory layout:
//   <dir>/<bucket_start:020>.sched  one file per bucket: entries due in
//                                   [bucket_start, bucket_start + width),
//                                   named by the zero-padded start (ms since
//                                   the epoch), e.g. 00000001732500000000.sched
//   <dir>/quarantine/               bucket files whose header failed
//                                   validation, kept for operators
//
// A bucket file is a 32-byte header followed by fixed-size 24-byte records,
// appended in add order. All integers little-endian.
//
// File header:
//  offset size field          meaning
//  ------ ---- -------------- ---------------------------------------------
//     0    4   magic          "AMQS"
//     4    2   version        1
//     6    2   record_size    24
//     8    8   bucket_start   int64 ms, equal to the file name
//    16    8   bucket_width   int64 ms, the store's bucket width
//    24    4   reserved       0
//    28    4   crc            CRC32C of bytes [0, 28)
//
// Record:
//  offset size field          meaning
//  ------ ---- -------------- ---------------------------------------------
//     0    4   crc            CRC32C of bytes [4, 24)
//     4    1   type           1 entry: (due, kind, id) is scheduled
//                             2 cancel: drops the earlier entry with this
//                               (kind, id) in the same bucket
//                             3 delivered: every earlier entry of this file
//                               with due <= this record's due was delivered
//     5    1   kind           the owner's kind byte (delay::timer_kind); 0
//                             in delivered records
//     6    2   reserved       0
//     8    8   due            int64 ms since the epoch
//    16    8   id             uint64, the owner's handle; 0 in delivered
//                             records
//
// Fixed-size records make a torn write easy to find and cut: the file ends
// at a record boundary after the last record whose CRC matches. Recovery on
// open cuts every file back to that point (a torn tail is the expected
// result of a crash) and reports the dropped bytes as truncated_tail; a
// record with a bad CRC in the middle of a file is skipped by load_bucket
// and counted (its length is fixed, so the records after it are intact).
// A file shorter than a header is removed; one whose header is bad or
// disagrees with its name or the bucket width is moved to quarantine/.
// Everything is logged at WARN and returned in the recovery_report.
//
// Memory: open() keeps per bucket only its start, size, lowest entry id and
// (for at most max_open_files buckets) an open file; entries are read only
// by load_bucket, a bucket at a time (and once by open(), a chunk at a
// time, for the lowest ids). Appends are buffered per bucket (up to
// write_buffer_bytes) until flush(), the group-commit point.
//
// The bucket width is fixed when the first file is written: reopening with
// a different width keeps the width on disk (and says so at WARN).
//
// Not thread-safe: one owner (the delay actor, or a detached flusher it
// hands the store to) calls every method.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "storage/file_handle.h"
#include "storage/recovery_report.h"
#include "storage/result.h"
#include "storage/types.h"

namespace actormq::storage {

namespace schedule_layout {
constexpr uint32_t magic = 0x53514D41;  // "AMQS" read as a little-endian uint32
constexpr uint16_t version = 1;
constexpr size_t header_size = 32;
constexpr size_t header_crc = 28;
constexpr size_t record_size = 24;
constexpr size_t record_type = 4;
constexpr size_t record_kind = 5;
constexpr size_t record_due = 8;
constexpr size_t record_id = 16;
}  // namespace schedule_layout

enum class schedule_record_type : uint8_t {
  entry = 1,
  cancel = 2,
  delivered = 3,
};

/// One scheduled entry as the store sees it: kind is the owner's byte.
struct schedule_entry {
  timestamp_ms due{0};
  uint8_t kind = 0;
  uint64_t id = 0;

  friend bool operator==(const schedule_entry&, const schedule_entry&) = default;
};

struct schedule_store_config {
  /// Width of a bucket: entries due in [start, start + width) share a file.
  /// A new bucket is loaded into the wheel once it lies wholly inside the
  /// wheel's window, so the width must be well below the wheel's window.
  std::chrono::milliseconds bucket_width{std::chrono::minutes(1)};
  /// Buckets whose file stays open between calls; others are reopened.
  size_t max_open_files = 64;
  /// Appended bytes buffered per bucket before they are written (not
  /// synced); flush() writes and syncs everything.
  size_t write_buffer_bytes = 64 * 1024;
};

/// What load_bucket returns.
struct loaded_bucket {
  timestamp_ms start{0};
  /// Pending entries in add order (cancelled and delivered ones removed).
  std::vector<schedule_entry> entries;
  /// Records skipped because their CRC did not match (logged at WARN).
  uint64_t corrupt_records = 0;
};

class schedule_store {
 public:
  /// Opens or creates the store in dir, running recovery. report, if given,
  /// receives what recovery did.
  static result<std::unique_ptr<schedule_store>> open(const std::filesystem::path& dir,
                                                      schedule_store_config cfg,
                                                      recovery_report* report = nullptr);
  /// Writes buffered records (no sync: call flush() for durability).
  ~schedule_store();
  schedule_store(const schedule_store&) = delete;
  schedule_store& operator=(const schedule_store&) = delete;

  /// The start of the bucket holding due.
  timestamp_ms bucket_of(timestamp_ms due) const;
  std::chrono::milliseconds bucket_width() const { return width_; }

  /// Appends e to the bucket of e.due (creating its file). invalid_argument
  /// for a negative due time. Durable after the next flush().
  status add(const schedule_entry& e);
  /// Records that the entry e (same due, kind and id as added) is cancelled.
  status cancel(const schedule_entry& e);
  /// Records that every entry added so far with due <= through has been
  /// delivered, in the bucket of through (a no-op if it has no file). Whole
  /// buckets below are deleted with remove_bucket instead. Call it after a
  /// delivered batch, not per entry: each call is a record.
  status mark_delivered(timestamp_ms through);
  /// Writes every buffered record and fdatasyncs each file written since the
  /// last flush, and the directory when files were created or deleted.
  status flush();

  /// The pending entries of the bucket starting at start (buffered records
  /// included); an empty result for a bucket without a file.
  result<loaded_bucket> load_bucket(timestamp_ms start);
  /// Deletes the bucket's file, once all its entries were delivered. Durable
  /// after the next flush(). Not an error if the bucket has no file.
  status remove_bucket(timestamp_ms start);

  /// Starts of the buckets that have a file, ascending.
  std::vector<timestamp_ms> buckets() const;
  /// The first bucket with a file whose start is >= t.
  std::optional<timestamp_ms> next_bucket(timestamp_ms t) const;
  size_t bucket_count() const { return buckets_.size(); }
  /// The lowest id of an entry in any bucket that still has a file, or
  /// nullopt when no bucket holds an entry. Conservative: delivered and
  /// cancelled entries count until their bucket is removed. What the owner
  /// keeps per id below it (the delay actor's schedule-log envelopes) is no
  /// longer needed. open() reads every bucket file once to find it.
  std::optional<uint64_t> lowest_entry_id() const;
  /// Records (of every type) in all buckets, written or buffered.
  uint64_t record_count() const;
  /// Bytes appended but not yet written to a file.
  size_t buffered_bytes() const;
  size_t open_files() const { return open_files_; }
  const std::filesystem::path& dir() const { return dir_; }

  static std::string file_name(timestamp_ms bucket_start);

 private:
  struct bucket {
    uint64_t file_bytes = 0;        // bytes in the file (header included)
    std::vector<uint8_t> buffered;  // appended, not yet written
    std::shared_ptr<file_handle> file;
    bool unsynced = false;               // written since the last sync
    uint64_t last_use = 0;               // for closing the least recently used file
    uint64_t min_entry_id = UINT64_MAX;  // lowest id of its entry records
  };

  schedule_store(std::filesystem::path dir, schedule_store_config cfg);
  status recover(recovery_report& report);
  status append(schedule_record_type type, timestamp_ms due, uint8_t kind, uint64_t id);
  status write_buffered(timestamp_ms start, bucket& b);
  result<file_handle*> ensure_open(timestamp_ms start, bucket& b);
  status close_file(bucket& b);
  std::filesystem::path path_of(timestamp_ms start) const { return dir_ / file_name(start); }

  std::filesystem::path dir_;
  schedule_store_config cfg_;
  std::chrono::milliseconds width_;
  std::map<timestamp_ms, bucket> buckets_;
  std::set<timestamp_ms> dirty_;          // buckets with buffered or unsynced bytes
  std::map<uint64_t, timestamp_ms> lru_;  // last_use -> bucket, for open files
  size_t open_files_ = 0;
  uint64_t use_clock_ = 0;
  bool dir_dirty_ = false;  // files created or deleted since the last sync
};

}  // namespace actormq::storage
