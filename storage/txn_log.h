#pragma once
// The durable state of transactional messages: one append-only file of
// checksummed records (half messages, decisions, checks), replayed into a
// map on open and rewritten as a snapshot when most of it is decided.
// Owned by the TRANSACTION COORDINATOR (actors/txn/); plain C++.
//
// Directory layout:
//   <dir>/txn.log      the records below, back to back
//   <dir>/txn.log.tmp  a snapshot being written (write_file_atomic);
//                      deleted (and reported) on open
//
// Record format (all integers little-endian; the crc and body_length frame
// and its recovery are storage/framed_records.h, shared with offset_store):
//
//  offset size field         meaning
//  ------ ---- ------------- ----------------------------------------------
//     0    4   crc           uint32, CRC32C of bytes [4, 8 + body_length):
//                            the length field and the body, so a corrupt
//                            length fails the check too
//     4    4   body_length   uint32, bytes after this field (<= 64 MiB + 1 KiB)
//     8    1   version       1
//     9    1   type          1 half, 2 decision, 3 check, 4 applied, 5 id floor
//    10    8   time          int64 ms since epoch when the record was made
//    18    8   id            uint64 transaction id (id floor: the next id)
//   half records go on:
//     .    2   group_length  uint16, then the producer group's bytes (>= 1)
//     .    2   topic_length  uint16, then the target topic's bytes (>= 1)
//     .    4   partition     uint32
//     .    8   deliver_at    int64 ms since epoch; 0 = no deliver-at time
//     .    8   delay         int64 ms counted from the commit; 0 = none
//     .    4   batch_length  uint32, then the record batch bytes (storage
//                            format); 0 in snapshots of finished ones
//   decision records go on:
//     .    1   decision      1 commit, 2 rollback, 3 unresolved
//   check records go on:
//     .    4   count         uint32, checks made so far (this one included)
//     .    8   next_check    int64 ms since epoch of the next check
//   applied and id floor records end after the id.
//
// The meaning of the types:
//   half      a producer stored a half message; its time is the creation
//             time the transaction timeout counts from.
//   decision  commit / rollback (producer, check-back or operator) or
//             unresolved (the last check gave no answer). The first decision
//             of an id wins; replay ignores later ones.
//   check     a check-back was sent: how many so far and when the next one
//             is due. Written when the check goes out, so a crash never
//             lets a transaction be checked more than the maximum.
//   applied   the decided batch reached its destination (partition, delay
//             schedule or the unresolved topic). A commit or unresolved
//             decision without it is delivered again after a restart.
//   id floor  ids below this were handed out; the first record of a
//             snapshot so that ids are never reused after compaction.
//
// Replay applies records in file order. A record for an id without a half
// (its half was compacted away) is ignored.
//
// Recovery on open: the file is read record by record and cut at the first
// one that is torn, fails its CRC or does not parse (its length may be what
// is corrupt, so nothing after it is trusted). The cut is a recovery_event
// (truncated_tail, dropped bytes) and a WARN line, never silent. A lost
// tail can only hold records whose flush() had not returned, so nothing
// acknowledged is lost.
//
// Durability: the append_* calls update the map at once and queue the
// record; flush() writes everything queued with one write and one
// fdatasync (group commit). After flush() returns, the records survive a
// crash.
//
// Memory: open transactions keep their batch bytes in memory (the caller
// bounds their number). Finished ones (rolled back, or decided and applied)
// drop the batch and stay as a summary, the newest keep_finished of them, so
// a late commit after a rollback is still refused with the right answer.
//
// Compaction: when, after a flush, the file exceeds compaction_ratio times
// the bytes a snapshot of the map needs (and min_compaction_bytes), flush()
// rewrites it: an id floor, then per transaction its half (finished ones
// without batch bytes), latest check and decision/applied records
// (write_file_atomic: temp file, fsync, rename, fsync dir). A crash before
// the rename leaves the old file.
//
// A failed write is cut back off the file; if that or an fdatasync fails the
// log refuses further calls (log_closed). Reopen to recover.
//
// Not thread-safe: one owner calls it.

#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "storage/file_handle.h"
#include "storage/recovery_report.h"
#include "storage/result.h"
#include "storage/types.h"

namespace actormq::storage {

/// Transaction ids: handed out by the log, never reused.
using txn_id = named_type<uint64_t, struct txn_id_tag>;

enum class txn_decision : uint8_t {
  none = 0,
  commit = 1,
  rollback = 2,
  unresolved = 3,
};

const char* to_string(txn_decision d);

/// What a producer sent with sendHalf.
struct txn_half {
  std::string group;
  std::string topic;
  uint32_t partition = 0;
  int64_t deliver_at_ms = 0;  ///< 0 = none
  int64_t delay_ms = 0;       ///< from the commit on; 0 = none
  std::string batch;
};

/// One transaction as replayed.
struct txn_record {
  txn_id id{0};
  txn_half half;  ///< batch empty once finished
  timestamp_ms created{0};
  txn_decision decision = txn_decision::none;
  timestamp_ms decided{0};
  bool applied = false;
  uint32_t checks = 0;
  timestamp_ms next_check{0};  ///< 0 until the first check went out

  /// Nothing left to do: rolled back, or decided and applied.
  bool finished() const {
    return decision == txn_decision::rollback || (decision != txn_decision::none && applied);
  }
};

struct txn_log_config {
  /// Compact when the file is more than this many times the live bytes.
  double compaction_ratio = 4.0;
  /// ... and at least this big.
  uint64_t min_compaction_bytes = 4 << 20;
  /// Finished transactions remembered (summary only), newest first.
  size_t keep_finished = 10000;
  /// Largest half batch accepted.
  size_t max_batch_bytes = 16 << 20;
};

class txn_log {
 public:
  /// Opens or creates <dir>/txn.log, replaying and recovering it.
  static result<std::unique_ptr<txn_log>> open(const std::filesystem::path& dir,
                                               txn_log_config cfg = {},
                                               recovery_report* report = nullptr);
  ~txn_log();
  txn_log(const txn_log&) = delete;
  txn_log& operator=(const txn_log&) = delete;

  /// Records a half message under a new id (durable after flush()).
  /// invalid_argument for an empty or over-long name or an over-large batch.
  result<txn_id> append_half(txn_half half, timestamp_ms now);
  /// Records the decision of an open transaction; invalid_argument if the id
  /// is unknown or already decided (the caller checks the state machine).
  status append_decision(txn_id id, txn_decision d, timestamp_ms now);
  /// Records that a check went out: count so far, next one due at next.
  status append_check(txn_id id, uint32_t count, timestamp_ms next, timestamp_ms now);
  /// Records that a commit/unresolved decision reached its destination.
  status append_applied(txn_id id, timestamp_ms now);

  /// Writes and fdatasyncs everything queued, then compacts if due.
  status flush();
  /// Rewrites the file as a snapshot of the map (queued records included).
  status compact();
  /// Flushes; further calls fail with log_closed.
  status close();

  const txn_record* find(txn_id id) const;
  /// Every remembered transaction by id: open, decided, recent finished.
  const std::map<txn_id, txn_record>& records() const { return records_; }
  /// Transactions not finished.
  size_t unfinished() const { return unfinished_; }
  txn_id next_id() const { return next_id_; }

  uint64_t file_bytes() const { return file_size_ + pending_.size(); }
  /// Bytes a snapshot of the map takes.
  uint64_t live_bytes() const;
  bool has_pending() const { return !pending_.empty(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  struct decoded;
  static bool parse(std::span<const uint8_t> body, decoded& d);
  txn_log(std::filesystem::path path, txn_log_config cfg);
  status recover(recovery_report& report);
  status usable() const;
  void apply(decoded& d);
  void finish(txn_record& r);
  void encode_snapshot(std::vector<uint8_t>& out) const;

  std::filesystem::path path_;
  txn_log_config cfg_;
  std::shared_ptr<file_handle> file_;
  uint64_t file_size_ = 0;
  uint64_t size_checked_at_ = 0;  ///< file size when live_bytes() was last compared
  std::vector<uint8_t> pending_;
  std::map<txn_id, txn_record> records_;
  std::deque<txn_id> finished_order_;  ///< finished ids, oldest first
  size_t unfinished_ = 0;
  txn_id next_id_{1};
  bool closed_ = false;
  bool failed_ = false;
};

}  // namespace actormq::storage
