#pragma once
// Settings of one partition log. Defaults suit a production broker; the
// broker's config file overrides them per topic.

#include <chrono>
#include <cstdint>
#include <functional>

#include "storage/types.h"

namespace actormq::storage {

/// When appended data is fdatasync'ed. Several may be set; any triggers.
struct flush_policy {
  /// Flush after this many messages since the last flush (0 = no count rule;
  /// 1 = every append).
  uint64_t every_messages = 0;
  /// Flush when the oldest unflushed append is this old; checked on append
  /// and by log::maybe_flush, which the owner calls on a timer (0 = off).
  int64_t every_ms = 1000;

  static flush_policy every_append() { return {1, 0}; }
  static flush_policy never() { return {0, 0}; }
};

struct log_config {
  uint64_t segment_bytes = 256ull << 20;        ///< roll when the next batch would pass this
  int64_t segment_ms = 7 * 24 * 3600 * 1000ll;  ///< roll when the active segment is this old
  int64_t retention_bytes = -1;  ///< delete oldest segments above this total (-1 = off)
  int64_t retention_ms = 7 * 24 * 3600 * 1000ll;  ///< delete segments older (-1 = off)
  size_t index_interval_bytes = 4096;             ///< one sparse index entry per this many bytes
  size_t max_batch_bytes = 16u << 20;             ///< larger batches are refused
  flush_policy flush;
  /// Check every record of an appended batch, not only header and CRC.
  bool validate_records = true;
  /// Clock for roll/retention/flush ages; tests substitute a manual one.
  std::function<timestamp_ms()> clock;
};

/// Milliseconds since the epoch from the system clock.
timestamp_ms system_now();

}  // namespace actormq::storage
