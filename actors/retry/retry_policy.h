#pragma once
// The retry policy of a consumer group: how long a nacked message waits
// before its next delivery, and how many retries it gets before it is
// dead-lettered.
//
// Two backoff shapes, written as one text (broker config [retry].backoff):
//
//   levels       "1s 5s 30s 1m 5m"           retry n waits the n-th delay,
//                                             the last one once the list is
//                                             used up (the default)
//   exponential  "exponential 500ms 2 1m"    retry n waits 500ms * 2^(n-1),
//                                             capped at 1m
//
// Worked example with the defaults (max_retries 16): the first delivery is
// nacked -> retry 1 after 1s (delivery 2); ... retry 5 after 5m; retries 6
// to 16 after 5m each; a nack of delivery 17 dead-letters the message.
//
// Plain C++: no CAF.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "actors/delay/delay_levels.h"
#include "storage/result.h"

namespace actormq::retry {

using std::chrono::milliseconds;

class retry_policy {
 public:
  static constexpr uint32_t default_max_retries = 16;

  /// 1s 5s 30s 1m 5m, max_retries 16.
  retry_policy();

  /// Parses a backoff text (see above); invalid_argument for a bad list,
  /// a factor below 1 or a cap below the initial delay.
  static storage::result<retry_policy> parse(std::string_view backoff,
                                             uint32_t max_retries = default_max_retries);

  /// The wait before retry n (1-based; 0 is treated as 1).
  milliseconds backoff(uint32_t retry) const;
  /// True when a message delivered this many times may not be retried again
  /// (deliveries > max_retries): its nack dead-letters it.
  bool exhausted(uint32_t deliveries) const { return deliveries > max_retries_; }
  uint32_t max_retries() const { return max_retries_; }
  /// The backoff in parse() syntax.
  std::string to_string() const;

 private:
  bool exponential_ = false;
  std::vector<milliseconds> levels_;
  milliseconds initial_{0};
  double factor_ = 2.0;
  milliseconds cap_{0};
  uint32_t max_retries_ = default_max_retries;
};

/// The broker's retry settings: a default policy, overrides per group
/// (broker config [retry.groups.NAME]) and the re-drive loop guard.
struct retry_settings {
  retry_policy defaults;
  std::map<std::string, retry_policy> groups;
  /// A dead letter re-driven this many times is refused (redrive_limit).
  uint32_t max_redrives = 3;

  const retry_policy& policy_for(const std::string& group) const {
    auto it = groups.find(group);
    return it == groups.end() ? defaults : it->second;
  }
};

}  // namespace actormq::retry
