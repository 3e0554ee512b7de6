#pragma once
// Delayed messages as records of the internal topic __delay_schedule
// (docs/storage-format.md, "Coordinator state: __delay_schedule"). The
// topic's partitions are ordinary replicated record-batch logs; a delayed
// message for target topic T, partition p goes to partition
// fnv1a32("T\np") % count (so one target's messages keep their order), whose
// leader owns the timing wheel for it and delivers it.
//
// Four kinds of record, replayed in log order by every replica
// (delay::schedule_partition):
//   envelope   a delayed message: target, due time and the producer's batch
//   dispatch   the leader is about to produce these envelopes, grouped per
//              target into one batch each, under the partition's producer
//              id and these sequence numbers. Written (acks=all) before the
//              produce, so a new leader produces the very same batches again
//              and the target's idempotence drops what already arrived:
//              each message reaches its target exactly once.
//   progress   every dispatch up to a number has been acknowledged by its
//              targets; optionally a bucket of due times all of whose
//              entries were delivered (replicas drop it from their index).
//   sequences  the next dispatch number, the completed one and every
//              target's next sequence number, written before old records
//              are deleted (they held the last ones).
//
// Integers little-endian.
//
// key:
//  offset size field      meaning
//  ------ ---- ---------- ------------------------------------------------
//     0    1   version    1
//     1    1   kind       1 envelope, 2 dispatch, 3 progress, 4 sequences
// value, every kind:
//     0    1   version    1 (an envelope or a dispatch: 1 or 2; written as 2)
// envelope goes on:
//     1    8   due        int64 ms since the epoch when it is delivered
//     9    2   topic_len  uint16, then the target topic (>= 1 byte)
//     .    4   partition  uint32, the target partition
//     .    4   batch_len  uint32, then the producer's record batch
//     .    1   class      version 2 only: what asked for the delay
//                         (delay_class.h: a level, retry, deliver-at);
//                         version 1 envelopes (earlier releases) read as
//                         class 0, not known
// dispatch goes on:
//     1    8   number     uint64, one more than the previous dispatch
//     9    2   targets    uint16, then per target:
//     .    2   topic_len    uint16, then the target topic (>= 1 byte)
//     .    4   partition    uint32
//     .    4   first_seq    int32, the batch's base sequence
//     .    4   records      uint32, records in the batch (its sequences are
//                           first_seq .. first_seq + records - 1)
//     .    4   entries      uint32 (>= 1), then per entry, in batch order:
//     .    8     offset       int64, the envelope's offset in this partition
//     .    8     due          int64, the envelope's due time
//     .    1     class        version 2 only: the envelope's class
//     .    4     records      version 2 only: uint32, records in its batch
//                             (version 1: class 0 and records 0, not known)
// progress goes on:
//     1    8   completed  uint64: dispatches up to this number are delivered
//     9    8   bucket     int64: the start of a bucket whose every entry was
//                         delivered; -1 for none
// sequences goes on:
//     1    8   next       uint64, the next dispatch number
//     9    8   completed  uint64, as in progress
//    17    4   targets    uint32, then per target:
//     .    2   topic_len    uint16, then the target topic
//     .    4   partition    uint32
//     .    4   next_seq     int32, the next sequence number
//
// Decoding is strict: an unknown version or kind, a field past the end or
// bytes left over yields nullopt (the replica skips it with a warning).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actors/delay/delay_class.h"
#include "storage/record_batch_builder.h"

namespace actormq::delay {

/// Name of the internal topic holding every pending delayed message.
inline constexpr const char* schedule_topic = "__delay_schedule";

/// The partition of __delay_schedule that schedules messages for
/// topic/partition (FNV-1a 32 of "topic\npartition", modulo count).
uint32_t schedule_partition_of(std::string_view topic, uint32_t partition, uint32_t count);

enum class schedule_kind : uint8_t { envelope = 1, dispatch = 2, progress = 3, sequences = 4 };

/// A target partition.
using target = std::pair<std::string, uint32_t>;

struct envelope_record {
  int64_t due_ms = 0;
  std::string topic;
  uint32_t partition = 0;
  std::string batch;  ///< the producer's record batch
  delay_class cls = delay_class::unknown;
};

/// One envelope taken into a dispatch.
struct dispatch_entry {
  int64_t offset = 0;  ///< the envelope's offset in the schedule partition
  int64_t due_ms = 0;
  /// The envelope's class and records: every replica subtracts them from
  /// its pending counts when it applies the dispatch (0: not known).
  delay_class cls = delay_class::unknown;
  uint32_t records = 0;
};

/// The batch one dispatch produces to one target.
struct dispatch_target {
  std::string topic;
  uint32_t partition = 0;
  int32_t first_seq = 0;
  uint32_t records = 0;
  std::vector<dispatch_entry> entries;  ///< in batch order
};

struct dispatch_record {
  uint64_t number = 0;
  std::vector<dispatch_target> targets;
};

struct progress_record {
  uint64_t completed = 0;
  int64_t bucket = -1;  ///< a delivered bucket's start, or -1
};

struct sequences_record {
  uint64_t next_dispatch = 1;
  uint64_t completed = 0;
  std::map<target, int32_t> next_seq;
};

/// One decoded record: kind says which member holds it.
struct schedule_record {
  schedule_kind kind = schedule_kind::envelope;
  envelope_record envelope;
  dispatch_record dispatch;
  progress_record progress;
  sequences_record sequences;
};

std::string encode_key(schedule_kind kind);
std::string encode_value(const envelope_record& e);
std::string encode_value(const dispatch_record& d);
std::string encode_value(const progress_record& p);
std::string encode_value(const sequences_record& s);
std::optional<schedule_record> decode_schedule_record(std::string_view key, std::string_view value);

/// Adds one record to a batch (the one way every writer of
/// __delay_schedule builds them); time_ms is its timestamp.
template <class Record>
void add_schedule_record(storage::record_batch_builder& batch, schedule_kind kind, const Record& r,
                         int64_t time_ms) {
  auto key = encode_key(kind);
  auto value = encode_value(r);
  batch.add(std::string_view(key), std::string_view(value), storage::timestamp_ms(time_ms), {});
}

}  // namespace actormq::delay
