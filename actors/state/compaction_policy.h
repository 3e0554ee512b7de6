#pragma once
// When a coordinator's state partition (__consumer_offsets,
// __transaction_state) is worth compacting: it holds at least min_records
// records and ratio times the records its live state needs. Both
// coordinators check it every compact interval (docs/architecture.md,
// "Coordinator state").

#include <algorithm>
#include <cstdint>

namespace actormq {

/// records: log end minus log start of the partition; live: the records a
/// rewrite of the live state takes.
inline bool compaction_due(int64_t records, int64_t live, int64_t min_records, double ratio) {
  const auto enough = static_cast<int64_t>(ratio * static_cast<double>(live));
  return records >= std::max(min_records, enough);
}

}  // namespace actormq
