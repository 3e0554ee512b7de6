#pragma once
// history: what the checker's producers sent, what the brokers acknowledged
// (partition and offset) and what every read returned, and the checks over
// it (Jepsen style: the workload only records, the verdict comes after).
// Plain logic; thread-safe (producers' delivery callbacks record from the
// client's loop threads).
//
// Values are unique per run, so a value names one send. The checks:
//  - lost: an acknowledged value is not at its acknowledged offset in the
//    final read (missing, or another value there);
//  - divergent: one offset of a partition held two different values, in any
//    two reads over the run (from different leaders) or in two acks;
//  - duplicates: one value at two offsets in the final read; counted apart
//    for values that were acknowledged (an idempotent producer must never
//    store an acknowledged batch twice) and for unacknowledged retries;
//  - phantom: a value read that was never sent;
//  - reordered: two acknowledged values one producer sent to one partition
//    stored in the other order (sent() names the producer: its stream).
//    An idempotent producer keeps its send order per partition whatever
//    its batches in flight and retries.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace actormq::checker {

/// One record as a read returned it.
struct observation {
  uint32_t partition = 0;
  int64_t offset = 0;
  std::string value;
};

struct check_result {
  int64_t sent = 0;
  int64_t acked = 0;
  int64_t failed = 0;  ///< finally refused or timed out (may or may not be stored)
  int64_t read = 0;    ///< records in the final read
  int64_t lost = 0;
  int64_t divergent = 0;
  int64_t duplicates_acked = 0;
  int64_t duplicates_unacked = 0;
  int64_t phantom = 0;
  int64_t reordered = 0;
  /// The first few problems, one sentence each.
  std::vector<std::string> problems;
  bool ok() const {
    return lost == 0 && divergent == 0 && phantom == 0 && duplicates_acked == 0 && reordered == 0;
  }
};

class history {
 public:
  using clock = std::chrono::steady_clock;

  /// value was sent; stream names its producer (empty: no order checked),
  /// whose sends are recorded in the order it made them.
  void sent(const std::string& value, clock::time_point at, const std::string& stream = {});
  void acked(const std::string& value, uint32_t partition, int64_t offset, clock::time_point at);
  void failed(const std::string& value, const std::string& why, clock::time_point at);
  /// A read (during the run or the final one) returned these records.
  void observed(const std::vector<observation>& records);

  /// The verdict, with `final_read` the read after healing (also observed).
  check_result check(const std::vector<observation>& final_read);

  /// The longest stretch within [from, to] without an acknowledgement (of
  /// one partition when given).
  clock::duration longest_gap(clock::time_point from, clock::time_point to,
                              std::optional<uint32_t> partition = std::nullopt) const;
  /// Acknowledgements received in [from, to] of values sent at or after
  /// sent_after (of one partition when given).
  int64_t acks_between(clock::time_point from, clock::time_point to, clock::time_point sent_after,
                       std::optional<uint32_t> partition = std::nullopt) const;
  /// Per partition (0..partitions-1): the offset after the highest one
  /// acknowledged (0 when none), where a full read must at least end.
  std::vector<int64_t> acked_ends(uint32_t partitions) const;
  /// Every acknowledged value.
  std::vector<std::string> acked_values() const;
  /// The last acknowledgement's time (nullopt before the first).
  std::optional<clock::time_point> last_ack() const;
  /// Final failures by reason ("delivery timeout: ..." -> count).
  std::map<std::string, int64_t> failure_reasons() const;

 private:
  struct send_record {
    clock::time_point sent_at{};
    std::optional<clock::time_point> acked_at;
    uint32_t partition = 0;
    int64_t offset = -1;
    bool failed = false;
    std::string stream;
    uint64_t index = 0;  ///< order of the sent() call
  };
  void note(std::string problem);
  void observe_locked(uint32_t partition, int64_t offset, const std::string& value);

  mutable std::mutex mu_;
  std::unordered_map<std::string, send_record> sends_;
  std::vector<std::pair<clock::time_point, uint32_t>> ack_times_;  ///< (time, partition)
  /// (partition, offset) -> the first value seen there (reads and acks).
  std::map<std::pair<uint32_t, int64_t>, std::string> seen_;
  std::map<std::string, int64_t> failure_reasons_;
  uint64_t sends_made_ = 0;
  int64_t divergent_ = 0;
  std::vector<std::string> problems_;
};

}  // namespace actormq::checker
