#pragma once
// What the benchmarks read about a broker process and its data directory
// (Linux /proc), and the percentile they report. Header-only: each bench is
// one translation unit.

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace actormq::bench {

/// CPU time (user + system, seconds) and context switches (voluntary +
/// involuntary) of a getrusage() result.
struct cpu_usage {
  double cpu_s = 0;
  long switches = 0;
};

inline cpu_usage usage_of(const rusage& ru) {
  auto secs = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
  return {secs(ru.ru_utime) + secs(ru.ru_stime), ru.ru_nvcsw + ru.ru_nivcsw};
}

/// This process's CPU time and switches so far, all its threads.
inline cpu_usage self_usage() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return usage_of(ru);
}

/// ms since the epoch (the clock deliver-at times are in).
inline int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// A "Key:   value kB" line of /proc/<pid>/status, in MiB (-1 when missing).
inline double status_mib(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stod(line.substr(key.size() + 1)) / 1024.0;
  }
  return -1;
}

/// utime + stime of a process, seconds (-1 when unreadable).
inline double cpu_secs(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = s.rfind(')');
  if (close == std::string::npos) return -1;
  std::vector<std::string> f;
  std::string cur;
  for (size_t i = close + 2; i < s.size(); ++i) {
    if (s[i] == ' ') {
      f.push_back(cur);
      cur.clear();
    } else {
      cur += s[i];
    }
  }
  if (f.size() < 13) return -1;
  // Fields after the name start at state (3): utime is 14, stime 15.
  return static_cast<double>(std::stoull(f[11]) + std::stoull(f[12])) /
         static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/// Bytes and allocated bytes (st_blocks) of every file below dir.
inline std::pair<uint64_t, uint64_t> disk_use(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  uint64_t bytes = 0, alloc = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    struct stat st {};
    if (it->is_regular_file() && ::stat(it->path().c_str(), &st) == 0) {
      bytes += static_cast<uint64_t>(st.st_size);
      alloc += static_cast<uint64_t>(st.st_blocks) * 512;
    }
  }
  return {bytes, alloc};
}

/// The p-quantile (0..1) of v (reordered); -1 when empty.
inline double percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return -1;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]);
}

}  // namespace actormq::bench
