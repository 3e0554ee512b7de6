#pragma once
// Consumer lag of a group on one partition: how many records it still has to
// consume, high_watermark - committed offset.

#include <cstdint>
#include <optional>

#include "actors/group/types.h"
#include "storage/types.h"

namespace actormq::group {

struct partition_lag {
  topic_partition tp;
  std::optional<storage::offset> committed;  ///< nullopt: the group never committed
  storage::offset high_watermark{0};
  int64_t lag = 0;
};

/// high_watermark - committed, where a missing commit or one below
/// log_start_offset (retention deleted the records) counts from
/// log_start_offset, and a commit beyond high_watermark (the log was truncated)
/// gives 0.
partition_lag compute_lag(topic_partition tp, std::optional<storage::offset> committed,
                          storage::offset log_start_offset, storage::offset high_watermark);

}  // namespace actormq::group
