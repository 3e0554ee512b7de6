#include "app/broker/log_limiter.h"

namespace actormq::broker {

std::optional<uint64_t> log_limiter::admit(clock::time_point now) {
  if (last_ && now - *last_ < interval_) {
    ++suppressed_;
    return std::nullopt;
  }
  last_ = now;
  auto held = suppressed_;
  suppressed_ = 0;
  return held;
}

}  // namespace actormq::broker
