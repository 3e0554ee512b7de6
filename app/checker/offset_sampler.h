#pragma once
// offset_sampler: reads one group's committed offsets of some partitions
// every 200 ms through the brokers (admin fetch_offsets), for the
// scenarios whose verdict says "no committed offset goes back"
// (kill-coordinator, kill-delay-owner, kill-retry-owner). After a failed
// call it connects afresh: its broker may be the one just killed.
// Thread-safe.

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <actormq/client/types.h>

namespace actormq::checker {

class offset_sampler {
 public:
  offset_sampler(std::string bootstrap, std::string group,
                 std::vector<client::topic_partition> partitions);
  /// stop() if running.
  ~offset_sampler();
  offset_sampler(const offset_sampler&) = delete;
  offset_sampler& operator=(const offset_sampler&) = delete;

  void start();
  void stop();

  /// Samples where a partition's committed offset was below an earlier
  /// sample's, one sentence each (each regression reported once).
  std::vector<std::string> regressions() const;
  /// The latest sampled committed offset of tp (-1 when none yet).
  int64_t last_committed(const client::topic_partition& tp) const;

 private:
  void sample();

  std::string bootstrap_;
  std::string group_;
  std::vector<client::topic_partition> partitions_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::map<client::topic_partition, int64_t> committed_;  ///< the latest sample
  std::vector<std::string> regressions_;
};

}  // namespace actormq::checker
