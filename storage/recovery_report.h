#pragma once
// What log recovery did on open. Every dropped byte is reported here and
// logged at WARN; nothing is truncated silently.

#include <cstdint>
#include <filesystem>
#include <string>
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
  std::vector<recovery_event> events;
  uint64_t dropped_bytes() const {
    uint64_t n = 0;
    for (const auto& e : events) n += e.dropped_bytes;
    return n;
  }
};

}  // namespace actormq::storage
