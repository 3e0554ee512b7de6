#pragma once
// cpu_probe: where the CPU went over a measured interval, read from /proc.
//
// Figures are % of one core over the interval (the machine total is 100 % x
// cores): client = this process (getrusage), server = the broker's pid
// (utime + stime from /proc/PID/stat), softirq = machine-wide softirq time
// (loopback TCP is mostly softirq work), other = everything else that was busy
// (a competing process shows up here: discard runs where it is more than a few %).
//
// It also reports the broker's peak resident set (VmHWM in /proc/PID/status).
// start() asks the kernel to reset that peak (writing 5 to /proc/PID/clear_refs,
// Linux >= 4.0, needs permission on the broker process) so the figure covers the
// run only; when that is refused the peak covers the broker's whole life and
// rss_scope says so.
//
// Thread-safety: one probe per measured run, used from one thread.

#include <cstdint>
#include <string>

namespace actormq::perf {

class cpu_probe {
 public:
  /// Takes the starting snapshot. server_pid <= 0 means no broker figures.
  void start(long server_pid);
  /// " cpu_client_pct=.. cpu_server_pct=.. cpu_softirq_pct=.. cpu_other_pct=..
  /// server_rss_mb=.. rss_scope=run|process", or "" when /proc is unreadable.
  std::string stop() const;

 private:
  long server_pid_ = 0;
  bool on_ = false;
  bool rss_reset_ = false;
  uint64_t t0_ns_ = 0;
  uint64_t machine_busy0_ = 0;
  uint64_t softirq0_ = 0;
  uint64_t server_ticks0_ = 0;
  uint64_t self_us0_ = 0;
};

/// CLOCK_MONOTONIC in nanoseconds (the clock of the latency payload).
uint64_t now_ns();
/// Sleeps until the CLOCK_MONOTONIC time t (nanoseconds).
void sleep_until_ns(uint64_t t);

}  // namespace actormq::perf
