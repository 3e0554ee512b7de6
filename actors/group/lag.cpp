#include "actors/group/lag.h"

#include <algorithm>

namespace actormq::group {

partition_lag compute_lag(topic_partition tp, std::optional<storage::offset> committed,
                          storage::offset log_start_offset, storage::offset high_watermark) {
  // min before max rather than std::clamp: no precondition on the bounds.
  const storage::offset from =
      committed ? std::max(std::min(*committed, high_watermark), log_start_offset)
                : log_start_offset;
  const int64_t lag = std::max<int64_t>(0, high_watermark() - from());
  return {std::move(tp), committed, high_watermark, lag};
}

}  // namespace actormq::group
