#include "actors/session/produce_throttle.h"

#include <algorithm>

namespace actormq {

namespace {
double seconds(std::chrono::milliseconds d) {
  return static_cast<double>(d.count()) / 1000.0;
}
}  // namespace

produce_throttle::clock::duration produce_throttle::bucket::charge(
    clock::time_point now, int64_t r, int64_t amount, std::chrono::milliseconds burst,
    std::chrono::milliseconds max_delay) {
  if (r <= 0) {
    rate = 0;  // unlimited; a later limit starts with a full bucket
    return clock::duration::zero();
  }
  double capacity = static_cast<double>(r) * seconds(burst);
  if (rate == 0) {
    tokens = capacity;
  } else {
    auto elapsed = std::chrono::duration<double>(now - filled).count();
    // The rate may have changed since the last fill (an alter): the time
    // since then counts at the new rate, a conservative choice either way.
    tokens = std::min(capacity, tokens + static_cast<double>(r) * std::max(elapsed, 0.0));
  }
  rate = r;
  filled = now;
  tokens -= static_cast<double>(amount);
  double floor = -static_cast<double>(r) * seconds(max_delay);
  tokens = std::max(tokens, floor);
  if (tokens >= 0) return clock::duration::zero();
  return std::chrono::duration_cast<clock::duration>(
      std::chrono::duration<double>(-tokens / static_cast<double>(r)));
}

produce_throttle::clock::time_point produce_throttle::admit(clock::time_point now,
                                                            int64_t byte_rate, int64_t message_rate,
                                                            int64_t bytes, int64_t messages) {
  auto wait = std::max(bytes_.charge(now, byte_rate, bytes, burst_, max_delay_),
                       messages_.charge(now, message_rate, messages, burst_, max_delay_));
  return now + wait;
}

}  // namespace actormq
