#pragma once
// The record the DELAY actor keeps in its internal schedule log for each
// delayed produce request: where and when to deliver, and the producer's
// batch bytes as they came (they keep their records, keys, headers and
// timestamps; only the producer identity is cleared at delivery).
//
// An envelope is a record batch (storage format) of one record:
//   key     "<target topic>\n<target partition>\n<deliver_at ms>"
//   value   the original record batch bytes
// Plain class, no actors.

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "storage/result.h"

namespace actormq::delay {

struct schedule_envelope {
  std::string topic;
  uint32_t partition = 0;
  int64_t deliver_at_ms = 0;
  std::string batch;  ///< the producer's batch

  /// A record batch holding this envelope, ready to append to the schedule log.
  std::string encode(int64_t now_ms) const;
  /// Decodes the first record of an envelope batch; invalid_batch if it is not one.
  static storage::result<schedule_envelope> decode(std::span<const uint8_t> batch);
};

/// The producer's batch, ready for the target partition: producer id,
/// epoch and sequence cleared (the delay actor, not the producer, delivers
/// it, in due order) and the CRC recomputed.
void clear_producer(std::string& batch);

}  // namespace actormq::delay
