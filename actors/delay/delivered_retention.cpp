#include "actors/delay/delivered_retention.h"

#include <algorithm>

namespace actormq::delay {

int64_t delivered_retention::floor(int64_t now_ms, int64_t lowest, uint64_t size_bytes) {
  // A lower lowest (an index rebuilt from an earlier offset) makes the
  // later samples meaningless: start over from it.
  while (!samples_.empty() && samples_.back().lowest > lowest) samples_.pop_back();
  if (samples_.empty() || samples_.back().lowest < lowest) samples_.push_back({now_ms, lowest});
  if (keep_.count() <= 0 || size_bytes > keep_bytes_) {
    // All of it goes: only the newest sample still says something.
    samples_.erase(samples_.begin(), samples_.end() - 1);
    return lowest;
  }
  // The newest sample at least keep old: what was below it has not been
  // needed for keep. Older samples are below it and no longer matter.
  const int64_t cut = now_ms - keep_.count();
  while (samples_.size() >= 2 && samples_[1].at_ms <= cut) samples_.pop_front();
  // Nothing has been unneeded that long that this retention saw (a new
  // leader saw nothing before it led): nothing goes yet.
  if (samples_.front().at_ms > cut) return 0;
  return samples_.front().lowest;
}

}  // namespace actormq::delay
