#pragma once
// The options every run shares and the result line every run prints.
//
// Result line (stdout, one per run), the format of ../shared/bench/README.md:
//   peer=actormq workload=W1 msgs=.. secs=.. msgs_per_s=.. mb_per_s=.. <extra>
//   <cpu_probe figures> <tags>
// mb_per_s is payload bytes / 10^6 / s.

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "actormq/client/config.h"
#include "cpu_probe.h"

namespace actormq::perf {

struct common_options {
  std::string broker = client::default_broker;
  std::string topic = "perf";
  uint32_t partitions = 1;
  /// Copies of each partition when the topic is created (0: the broker's default).
  uint32_t replication_factor = 0;
  /// Wall-clock cap of the measured part of a run, seconds.
  double seconds = 30;
  long server_pid = 0;
  std::string peer = "actormq";
  std::string label;  ///< workload name in the line (W1...); defaults per mode
  std::string tags;   ///< appended verbatim
  /// Progress line on stderr: only when stderr is a terminal, unless forced off.
  bool progress = true;
};

/// Prints the result line and flushes stdout. cpu_figures: cpu_probe::stop().
void emit(const common_options& o, const std::string& default_label, uint64_t msgs,
          uint64_t payload_bytes, uint64_t elapsed_ns, const std::string& extra,
          const std::string& cpu_figures);

/// Prints "\r<label>: <count> msgs, <rate> msgs/s" to stderr about once a
/// second while alive, when stderr is a terminal. count is read, not owned.
class progress_line {
 public:
  progress_line(const common_options& o, std::string label, const std::atomic<uint64_t>& count);
  ~progress_line();
  progress_line(const progress_line&) = delete;
  progress_line& operator=(const progress_line&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

/// Creates the topic if it does not exist yet. Returns the error text, or "".
std::string ensure_topic(const common_options& o);
/// Sum of the topic's partition high watermarks, -1 on error.
int64_t stored_messages(const common_options& o);

/// Payload of `size` bytes in peerbench's letter pattern.
std::string make_payload(size_t size);

}  // namespace actormq::perf
