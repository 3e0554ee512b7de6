#pragma once
// Waiting for a signal to take effect. kill(SIGSTOP) only queues the signal:
// until the kernel schedules the target it still runs, and a test that
// freezes a process and at once expects silence would race it.

#include <sys/types.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

namespace actormq::test {

/// The state letter of /proc/PID/stat ('R', 'S', 'T' stopped, 'Z'...), or
/// '?' when the process is gone.
inline char process_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return '?';
  auto close = line.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos || close + 2 >= line.size()) return '?';
  return line[close + 2];
}

/// Waits until pid is stopped (state 'T'), at most bound; false if not.
inline bool wait_stopped(pid_t pid, std::chrono::milliseconds bound = std::chrono::seconds(5)) {
  const auto end = std::chrono::steady_clock::now() + bound;
  for (;;) {
    if (process_state(pid) == 'T') return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace actormq::test
