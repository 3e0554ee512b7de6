#pragma once
// log_limiter: at most one log line per interval for a repeating condition
// (a descriptor shortage, unknown tokens from a scanner), so a flood of
// events cannot flood the log. The line that is let through says how many
// were held back since the previous one.
//
// Not thread-safe: one limiter per thread (the broker's KJ thread).

#include <chrono>
#include <cstdint>
#include <optional>

namespace actormq::broker {

class log_limiter {
 public:
  using clock = std::chrono::steady_clock;

  explicit log_limiter(std::chrono::milliseconds interval) : interval_(interval) {}

  /// Called once per event. When this event may be logged, returns how many
  /// events were suppressed since the last logged one; otherwise nullopt.
  std::optional<uint64_t> admit(clock::time_point now = clock::now());

 private:
  std::chrono::milliseconds interval_;
  std::optional<clock::time_point> last_;
  uint64_t suppressed_ = 0;
};

}  // namespace actormq::broker
