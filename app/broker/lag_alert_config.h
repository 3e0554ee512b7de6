#pragma once
// The [lag_alerts] section of the broker config (actors/group/lag_watch.h):
//
//   [lag_alerts]
//   max_messages = 10000        # a group's lag (messages, all partitions); 0 = off
//   max_age = "5m"              # age of its oldest unconsumed message; "0s" = off
//   check_interval = "5s"       # how often each group checks
//   [lag_alerts.groups.NAME]    # per-group thresholds (both, or the default's)
//   max_messages = 100
//   max_age = "30s"
//
// Off by default. An alert is an "ALERT group NAME: lag ..." log line (WARN),
// actormq_group_lag_alerts_total and the [alerts] hook with AMQ_REASON=lag;
// its clearing an INFO line and the hook with AMQ_REASON=lag_cleared.

#include <toml++/toml.h>

#include <optional>
#include <string>

#include "actors/group/lag_watch.h"

namespace actormq::broker {

/// Reads [lag_alerts] over the defaults; the error text on failure.
std::optional<std::string> load_lag_alert_config(const toml::table& t,
                                                 group::lag_alert_policy& out);

}  // namespace actormq::broker
