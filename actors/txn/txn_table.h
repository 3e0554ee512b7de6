#pragma once
// txn_table: the transactions of one partition of __transaction_state, as
// the records of that partition describe them (txn_state_record.h). The
// TRANSACTION COORDINATOR replays the partition into one when it takes the
// partition over, and applies each event it writes afterwards, so the
// table is always the log's meaning. Plain C++: no actors, no I/O.
//
// Replay rules (those of the previous release's txn.log): a half creates
// its id (a second half of the same id is ignored); the first decision
// wins; a check sets the count and the next due time; applied needs a
// decision; events of an unknown or finished id are ignored.
//
// Memory: open transactions keep their batch; finished ones (rolled back,
// or decided and applied) drop it and stay as a summary, the newest
// keep_finished of them, so a late commit after a rollback still gets the
// right refusal.
//
// Ids: make_txn_id(partition, sequence); the next sequence is one past the
// highest seen (halves and id floors), so ids are never reused.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/txn/txn_state_record.h"
#include "storage/txn_log.h"

namespace actormq::txn {

class txn_table {
 public:
  txn_table(uint32_t partition, size_t keep_finished)
      : partition_(partition), keep_finished_(keep_finished) {}

  /// Applies one event (replay or a live write). False when it was ignored.
  bool apply(const txn_event_record& e);
  /// A fresh id of this partition (not recorded until its half is applied).
  uint64_t next_id() const { return make_txn_id(partition_, next_sequence_); }
  /// Forgets a half whose write failed (it was never acknowledged).
  void drop(uint64_t id);

  const storage::txn_record* find(uint64_t id) const;
  /// The transaction a producer group's sendHalf with this request id made,
  /// while the table remembers it; nullopt otherwise.
  std::optional<uint64_t> find_request(const std::string& group,
                                       const std::string& request_id) const;
  const std::map<uint64_t, storage::txn_record>& records() const { return records_; }
  size_t unfinished() const { return unfinished_; }
  uint32_t partition() const { return partition_; }

  /// The events that rebuild this table: an id floor, then per transaction
  /// its half (without batch once finished), latest check, decision and
  /// applied. Compaction writes them again.
  std::vector<txn_event_record> snapshot(int64_t now_ms) const;
  /// The events that rebuild one transaction (a snapshot's part for it).
  static void events_of(const storage::txn_record& r, std::vector<txn_event_record>& out);
  /// Records a snapshot would write (for the compaction ratio).
  size_t live_records() const;

 private:
  void finish(storage::txn_record& r);
  void forget(std::map<uint64_t, storage::txn_record>::iterator it);
  static std::string request_key(const std::string& group, const std::string& request_id) {
    return group + '\0' + request_id;
  }

  uint32_t partition_;
  size_t keep_finished_;
  uint64_t next_sequence_ = 1;
  std::map<uint64_t, storage::txn_record> records_;
  /// group + NUL + request id -> transaction id, for halves that had one,
  /// and back.
  std::map<std::string, uint64_t> by_request_;
  std::map<uint64_t, std::string> request_of_;
  std::deque<uint64_t> finished_order_;
  size_t unfinished_ = 0;
};

}  // namespace actormq::txn
