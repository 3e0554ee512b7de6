#pragma once
// Runs the operator's alert command ([alerts] hook in the broker config)
// once per dead letter, with the dead letter's fields as environment
// variables:
//
//   AMQ_REASON AMQ_TOPIC AMQ_GROUP AMQ_DLQ_TOPIC AMQ_PARTITION AMQ_OFFSET
//   AMQ_DELIVERIES AMQ_ERROR AMQ_TIME_MS
//
// The command runs through /bin/sh -c on the hook's own thread, never on an
// actor thread. Bounded: at most max_queue alerts wait (more are dropped
// and counted), and a command running longer than timeout is killed.
//
// Thread-safe: fire() may be called from any thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace actormq::retry {

struct alert {
  std::map<std::string, std::string> env;  ///< variable name -> value
};

class alert_hook {
 public:
  alert_hook(std::string command, size_t max_queue = 1000,
             std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Waits for the running command (bounded by timeout); drops the queue.
  ~alert_hook();
  alert_hook(const alert_hook&) = delete;
  alert_hook& operator=(const alert_hook&) = delete;

  /// Queues an alert; false when the queue is full (the alert is dropped).
  bool fire(alert a);

  uint64_t ran() const;
  uint64_t dropped() const;
  uint64_t failed() const;  ///< non-zero exit, killed, or could not start

 private:
  void run();
  bool run_one(const alert& a);

  std::string command_;
  size_t max_queue_;
  std::chrono::milliseconds timeout_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<alert> queue_;
  bool stop_ = false;
  uint64_t ran_ = 0, dropped_ = 0, failed_ = 0;
  std::thread worker_;
};

}  // namespace actormq::retry
