#pragma once
// Transactional (half) messages as records of the internal topic
// __transaction_state (docs/storage-format.md, "Coordinator state"). The
// topic's partitions are ordinary replicated record-batch logs; the
// transactions of a producer group go to partition
// group::state_partition_of(group, count), whose leader coordinates them and
// rebuilds them from that log when it takes over. A transaction id carries
// its partition in its top 16 bits (txn_partition_of), so a commit or
// rollback by id alone finds its coordinator.
//
// Each event of a transaction is one record keyed by the transaction id;
// replay applies them in log order (txn_table). Integers little-endian.
//
// key:
//  offset size field      meaning
//  ------ ---- ---------- ------------------------------------------------
//     0    1   version    1
//     1    1   kind       1 = transaction event, 2 = id floor
//     2    8   id         uint64: the transaction id (id floor: 0)
// value of kind 1:
//     0    1   version    1 (2: a half with a request id)
//     1    1   type       1 half, 2 decision, 3 check, 4 applied
//     2    8   time       int64 ms since epoch when the event happened
//   half goes on:
//     .    2   group_len  uint16, then the producer group (>= 1 byte)
//     .    2   topic_len  uint16, then the target topic (>= 1 byte)
//     .    4   partition  uint32, the target partition
//     .    8   deliver_at int64 ms since epoch; 0 = none
//     .    8   delay      int64 ms counted from the commit; 0 = none
//     .    4   batch_len  uint32, then the record batch (storage format);
//                         0 in the snapshot of a finished transaction
//     .    2   req_len    version 2 only: uint16, then the producer's request
//                         id (1..64 bytes): a resent sendHalf finds its half
//   decision goes on:
//     .    1   decision   1 commit, 2 rollback, 3 unresolved
//   check goes on:
//     .    4   count      uint32, checks sent so far (this one included)
//     .    8   next_check int64 ms since epoch when the next one is due
//   applied ends after the time.
// value of kind 2:
//     0    1   version    1
//     1    8   next_id    uint64: ids below it were handed out (written
//                         first in every compaction, so ids are never reused)
//
// The meaning of each type is that of the previous release's txn.log
// (storage/txn_log.h, read once by the upgrade): the half's time is the
// creation time the transaction timeout counts from; the first decision of
// an id wins; a check is recorded when it goes out, so a failover never
// lets a transaction be checked more than the maximum; applied means the
// decided batch reached its destination.
//
// Decoding is strict: an unknown version, kind or type, a field past the
// end or bytes left over yields nullopt and the loader skips the record
// with a warning.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/record_batch_builder.h"
#include "storage/txn_log.h"

namespace actormq::txn {

/// Name of the internal topic holding every transaction.
inline constexpr const char* state_topic = "__transaction_state";

/// Bits of a transaction id below its partition.
inline constexpr int partition_shift = 48;

/// The partition of __transaction_state that holds transaction id (ids of
/// the previous release are all below 2^48: partition 0).
inline uint32_t txn_partition_of(uint64_t id) {
  return static_cast<uint32_t>(id >> partition_shift);
}
/// The sequence number of an id within its partition.
inline uint64_t txn_sequence_of(uint64_t id) {
  return id & ((uint64_t{1} << partition_shift) - 1);
}
inline uint64_t make_txn_id(uint32_t partition, uint64_t sequence) {
  return (uint64_t{partition} << partition_shift) | sequence;
}

enum class event_type : uint8_t { half = 1, decision = 2, check = 3, applied = 4, id_floor = 5 };

/// One decoded record.
struct txn_event_record {
  event_type type = event_type::half;
  uint64_t id = 0;  ///< the transaction (id floor: the next id)
  int64_t time_ms = 0;
  storage::txn_half half;  ///< half only
  std::string request_id;  ///< half only: the producer's id of its sendHalf (may be empty)
  storage::txn_decision decision = storage::txn_decision::none;
  uint32_t count = 0;         ///< check only
  int64_t next_check_ms = 0;  ///< check only
};

std::string encode_txn_key(const txn_event_record& e);
std::string encode_txn_value(const txn_event_record& e);
std::optional<txn_event_record> decode_txn_record(std::string_view key, std::string_view value);

/// Adds the record of one event to a batch (the one way every writer of
/// __transaction_state builds them).
void add_txn_record(storage::record_batch_builder& batch, const txn_event_record& e);

}  // namespace actormq::txn
