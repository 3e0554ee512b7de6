#pragma once
// The [retry] and [alerts] sections of the broker config:
//
//   [retry]
//   backoff = "1s 5s 30s 1m 5m"      # or "exponential 500ms 2 1m"
//   max_retries = 16
//   max_redrives = 3                 # re-drive loop guard
//   [retry.groups.NAME]              # per-group override of the two above
//   backoff = "..."
//   max_retries = N
//
//   [alerts]
//   hook = "cmd"                     # run per dead letter, AMQ_* env vars
//   hook_timeout_ms = 10000
//   hook_queue = 1000

#include <toml++/toml.h>

#include <optional>
#include <string>

#include "actors/retry/retry_policy.h"

namespace actormq::broker {

struct alert_config {
  std::string hook;  ///< empty = no hook
  uint32_t hook_timeout_ms = 10000;
  uint32_t hook_queue = 1000;
};

/// Reads [retry] and [alerts] over the defaults; the error text on failure.
std::optional<std::string> load_retry_config(const toml::table& t, retry::retry_settings& retry,
                                             alert_config& alerts);

}  // namespace actormq::broker
