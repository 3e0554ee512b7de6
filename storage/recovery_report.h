#pragma once
// What log recovery did on open. Every dropped byte is reported here and
// logged at WARN; nothing is truncated silently.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "storage/types.h"

namespace actormq::storage {

struct recovery_event {
  enum class kind {
    truncated_tail,       ///< bad bytes at the end of the tail segment were cut
    quarantined_segment,  ///< a non-tail segment failed validation and was moved aside
    rebuilt_index,        ///< an index file was missing or stale and was rebuilt
    removed_stray_file,   ///< a leftover temp/orphan file was deleted
  };
  kind what;
  std::filesystem::path file;
  uint64_t dropped_bytes = 0;
  offset first_dropped{-1};  ///< first offset lost, when known
  offset dropped_until{-1};  ///< offset after the last one lost, when known
  std::string detail;
};

struct recovery_report {
  bool clean_shutdown = false;  ///< the previous close left a clean marker
  /// The recovery point found on open (recovery_point.h); -1 when there was
  /// none (a log from before it, or a new one).
  offset recovery_point{-1};
  /// Segments read whole with their CRCs: the tail, and after an unclean
  /// shutdown each closed segment past the recovery point.
  size_t crc_checked_segments = 0;
  std::vector<recovery_event> events;
  uint64_t dropped_bytes() const {
    uint64_t n = 0;
    for (const auto& e : events) n += e.dropped_bytes;
    return n;
  }
};

/// Adds ev to report and logs it at WARN, with source naming what
/// recovered ("log", "offsets", "txn log", "schedule store"): every
/// recovery reports what it dropped the same way.
void report_event(recovery_report& report, std::string_view source, recovery_event ev);

}  // namespace actormq::storage
