#pragma once
// workload: K producer threads writing unique values ("p<k>-<n>") to every
// partition of one topic in turn, acks=all (or as set) and idempotent, each producer
// bootstrapped at a different broker first. Every send, acknowledgement
// (partition, offset) and final failure goes into the history. A producer
// keeps at most max_outstanding records unanswered, so an outage parks the
// workload instead of piling up records.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <actormq/client/types.h>

#include "history.h"

namespace actormq::checker {

struct workload_settings {
  std::vector<std::string> bootstraps;  ///< one per producer ("a,b,c" lists)
  std::string topic;
  uint32_t partitions = 1;
  std::chrono::microseconds interval{5000};  ///< between sends of one producer
  int64_t max_outstanding = 200;
  uint32_t delivery_timeout_ms = 30000;
  uint32_t request_timeout_ms = 5000;
  client::acks acks = client::acks::all;
  uint32_t max_in_flight = 0;  ///< max_in_flight_per_partition; 0: the client's default
  size_t batch_bytes = 0;      ///< the producers' batch_bytes; 0: the client's default
};

class workload {
 public:
  workload(workload_settings s, history& h);
  /// stop() if running.
  ~workload();
  workload(const workload&) = delete;
  workload& operator=(const workload&) = delete;

  void start();
  /// Stops sending, then waits (bounded by the delivery timeout plus a
  /// margin) for every outstanding record's answer and joins the threads.
  void stop();
  /// Producers that could not be created (with why), after stop().
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  void run(size_t index);

  workload_settings settings_;
  history& history_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
  std::vector<std::string> errors_;
  std::mutex errors_mu_;
};

}  // namespace actormq::checker
