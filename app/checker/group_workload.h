#pragma once
// group_workload: the consumers of one group reading the checked topic for
// the whole run (the kill-coordinator scenario). Each consumer thread polls,
// records every value it got, and commits after each poll (commit_sync; a
// commit refused while the coordinator moves is counted, not fatal). An
// offset_sampler reads the group's committed offsets every 200 ms, so an
// offset that goes back is seen.
// Per value it keeps how often the group got it and when first (wall clock,
// for kill-delay-owner's lateness).
//
// The verdict (scenario_runner): every acknowledged value was consumed at
// least once (nothing skipped), no sampled committed offset went back, and
// after the drain every partition's committed offset reached its end.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "offset_sampler.h"

namespace actormq::checker {

struct group_workload_settings {
  std::string bootstrap;  ///< "a,b,c"
  std::string topic;
  uint32_t partitions = 1;
  std::string group = "checked-group";
  int consumers = 2;
};

class group_workload {
 public:
  explicit group_workload(group_workload_settings s) : settings_(std::move(s)) {}
  /// stop() if running.
  ~group_workload();
  group_workload(const group_workload&) = delete;
  group_workload& operator=(const group_workload&) = delete;

  void start();
  /// Stops the consumers (each closes: leaves the group) and the sampler.
  void stop();

  /// Values consumed at least once so far.
  size_t consumed_count() const;
  bool consumed(const std::string& value) const;
  /// Values the group got more than once (redelivered after a rebalance:
  /// polled, then the commit did not reach the coordinator).
  int64_t redelivered() const;
  /// When value first came out of a poll (ms since the epoch).
  std::optional<int64_t> first_consumed_ms(const std::string& value) const;
  int64_t commits_ok() const { return commits_ok_; }
  int64_t commits_failed() const { return commits_failed_; }
  /// Samples where a partition's committed offset was below an earlier
  /// sample's, one sentence each.
  std::vector<std::string> regressions() const;
  /// The latest sampled committed offset per partition (-1 when none).
  std::vector<int64_t> last_committed() const;
  /// Consumers that could not be created or subscribe, one sentence each.
  std::vector<std::string> errors() const;

 private:
  void consume(int index);

  group_workload_settings settings_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;
  struct consumption {
    int64_t first_ms = 0;  ///< wall clock, ms since the epoch
    int64_t times = 0;
  };
  std::unordered_map<std::string, consumption> consumed_;
  std::unique_ptr<offset_sampler> sampler_;
  std::vector<std::string> errors_;
  std::atomic<int64_t> commits_ok_{0};
  std::atomic<int64_t> commits_failed_{0};
};

}  // namespace actormq::checker
