#pragma once
// Idempotent-produce bookkeeping of one partition: for each producer id, its
// epoch and the last few batches it appended (sequence range -> offsets).
// A batch whose sequence range was already stored is a retry: answer with
// the original offsets. The next batch must start at last sequence + 1.
// Plain class, no actors; the partition actor owns one.
//
// Snapshot file format (producers.snapshot, written atomically):
//   uint32 magic 0x414d5150 ("AMQP"), uint32 version 1,
//   int64 covered_offset   every batch below it is reflected,
//   uint32 producer_count, then per producer:
//     int64 producer_id, int16 epoch, uint8 batch_count, then per batch:
//       int32 first_seq, int32 last_seq, int64 base_offset, int64 last_offset
//   uint32 crc32c of all bytes before it.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

#include "storage/record_batch.h"
#include "storage/result.h"

namespace actormq {

class producer_state_table {
 public:
  static constexpr size_t batches_kept = 5;

  enum class verdict { append, duplicate, out_of_order, fenced };
  struct check_result {
    verdict what = verdict::append;
    int64_t base_offset = -1;  ///< for duplicate
    int64_t last_offset = -1;
  };

  /// What to do with a batch (header fields). Non-idempotent batches
  /// (producer_id < 0) always append.
  check_result check(const storage::batch_header& h) const;
  /// Records an appended batch (its base_offset must be set).
  void record(const storage::batch_header& h);
  void clear() { producers_.clear(); }
  size_t size() const { return producers_.size(); }

  std::string encode(int64_t covered_offset) const;
  /// Decodes a snapshot; returns the covered offset, or an error when the
  /// bytes are corrupt (then rebuild from the log).
  storage::result<int64_t> decode(const std::string& bytes);

 private:
  struct batch_meta {
    int32_t first_seq;
    int32_t last_seq;
    int64_t base_offset;
    int64_t last_offset;
  };
  struct producer {
    int16_t epoch = 0;
    std::deque<batch_meta> batches;
  };
  std::unordered_map<int64_t, producer> producers_;
};

}  // namespace actormq
