#pragma once
// lag_watch: a consumer group's lag alert (issue 17). Each check gives it
// the group's committed offset, log start and high watermark per partition;
// it answers the group's lag (messages) and the age of its oldest
// unconsumed message, and whether that raised or cleared the alert.
//
// The age is estimated the way kafka-lag-exporter does, from the high
// watermarks the checks saw: the record at offset c was appended between
// the last check that saw the high watermark at or below c and the first
// that saw it above c (interpolated between the two). It needs no read of
// the log, in a cluster as alone. A record older than the oldest
// observation (written before the group actor started watching) gets the
// age of that observation: a lower bound, exact again once the history
// covers it. The precision is the check interval.
//
// History per partition is bounded (max_points): observations below the
// committed offset are dropped, and a history still too long (a stuck
// consumer under steady produce) drops every other interior point.
//
// Plain C++ (no CAF); not thread-safe (the GROUP actor's).

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/group/types.h"

namespace actormq::group {

/// When a group's lag alerts; 0 = that bound is off.
struct lag_thresholds {
  int64_t max_messages = 0;
  int64_t max_age_ms = 0;
  bool enabled() const { return max_messages > 0 || max_age_ms > 0; }
};

/// The thresholds of every group: a default and per-group overrides.
struct lag_alert_policy {
  lag_thresholds defaults;
  std::map<std::string, lag_thresholds> groups;
  std::chrono::milliseconds check_interval{5000};
  lag_thresholds for_group(const std::string& g) const {
    auto it = groups.find(g);
    return it == groups.end() ? defaults : it->second;
  }
};

/// One partition as a check saw it.
struct lag_observation {
  topic_partition tp;
  std::optional<int64_t> committed;  ///< nullopt: nothing committed
  int64_t log_start = 0;
  int64_t high_watermark = -1;  ///< -1: unknown this time (leader offline)
};

struct lag_verdict {
  enum class change { none, raised, cleared };
  int64_t lag = 0;     ///< messages, summed over the partitions seen
  int64_t age_ms = 0;  ///< of the oldest unconsumed message, 0 when none
  /// The partition holding the oldest unconsumed message (or the largest
  /// lag when ages tie); empty when nothing is behind.
  std::string worst;
  bool over = false;  ///< above a threshold now
  change what = change::none;
};

class lag_watch {
 public:
  static constexpr size_t max_points = 256;

  explicit lag_watch(lag_thresholds t = {}) : thresholds_(t) {}

  const lag_thresholds& thresholds() const { return thresholds_; }
  /// One check at now_ms (ms since the epoch).
  lag_verdict observe(const std::vector<lag_observation>& parts, int64_t now_ms);
  bool alerting() const { return alerting_; }
  const lag_verdict& last() const { return last_; }
  uint64_t raised() const { return raised_; }
  /// Checks observed so far.
  uint64_t checks() const { return checks_; }
  /// Observation points kept, over all partitions (bounded).
  size_t points() const;

 private:
  struct point {
    int64_t high_watermark;
    int64_t at_ms;
  };
  /// The time the record at offset was appended, as the history tells.
  static int64_t appended_at(const std::deque<point>& h, int64_t offset);
  static void trim(std::deque<point>& h, int64_t committed);

  lag_thresholds thresholds_;
  std::map<topic_partition, std::deque<point>> history_;
  bool alerting_ = false;
  lag_verdict last_;
  uint64_t raised_ = 0;
  uint64_t checks_ = 0;
};

}  // namespace actormq::group
