#include "actors/inspect/process_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace actormq {

namespace {

size_t count_open_fds() {
  size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (auto* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    ::closedir(d);
    if (n > 0) --n;  // the directory stream's own descriptor
  }
  return n;
}

}  // namespace

void add_process_metrics(std::vector<metric_sample>& out) {
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces): from ") ".
  auto close = stat.rfind(')');
  if (close != std::string::npos) {
    std::istringstream in(stat.substr(close + 2));
    std::vector<std::string> f;
    std::string tok;
    while (in >> tok) f.push_back(tok);
    // f[0] is field 3 (state): utime 14, stime 15, num_threads 20,
    // starttime 22, vsize 23, rss 24.
    auto field = [&](size_t n) {
      return n - 3 < f.size() ? std::strtod(f[n - 3].c_str(), nullptr) : 0.0;
    };
    if (f.size() >= 22) {
      add_metric(out, "process_cpu_seconds_total", {}, (field(14) + field(15)) / ticks);
      add_metric(out, "process_threads", {}, field(20));
      add_metric(out, "process_virtual_memory_bytes", {}, field(23));
      add_metric(out, "process_resident_memory_bytes", {}, field(24) * page);
      // starttime is in ticks since boot.
      std::ifstream uptime_file("/proc/uptime");
      double uptime = 0;
      if (uptime_file >> uptime) {
        double now = static_cast<double>(::time(nullptr));
        add_metric(out, "process_start_time_seconds", {}, now - uptime + field(22) / ticks);
      }
    }
  }
  add_metric(out, "process_open_fds", {}, static_cast<double>(count_open_fds()));
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    add_metric(out, "process_max_fds", {}, static_cast<double>(rl.rlim_cur));
  }
}

}  // namespace actormq
