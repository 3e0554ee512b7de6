#include "cpu_probe.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace actormq::perf {

namespace {

/// Machine-wide busy and softirq clock ticks from the first line of /proc/stat.
bool read_machine(uint64_t& busy, uint64_t& softirq) {
  std::ifstream in("/proc/stat");
  std::string cpu;
  uint64_t user = 0, nice = 0, sys = 0, idle = 0, iowait = 0, irq = 0, si = 0, steal = 0;
  if (!(in >> cpu >> user >> nice >> sys >> idle >> iowait >> irq >> si >> steal) || cpu != "cpu") {
    return false;
  }
  busy = user + nice + sys + irq + si + steal;  // idle and iowait are not busy
  softirq = si;
  return true;
}

/// utime + stime of a process in clock ticks, 0 when it cannot be read.
uint64_t read_process_ticks(long pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name may hold spaces and parentheses: fields restart after the last ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string skip;
  // state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt, then utime stime
  for (int i = 0; i < 11; ++i) fields >> skip;
  uint64_t utime = 0, stime = 0;
  if (!(fields >> utime >> stime)) return 0;
  return utime + stime;
}

uint64_t self_cpu_us() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto us = [](const timeval& tv) {
    return static_cast<uint64_t>(tv.tv_sec) * 1000000u + static_cast<uint64_t>(tv.tv_usec);
  };
  return us(ru.ru_utime) + us(ru.ru_stime);
}

/// VmHWM of a process in KiB, -1 when it cannot be read.
long read_peak_rss_kib(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

bool reset_peak_rss(long pid) {
  std::ofstream out("/proc/" + std::to_string(pid) + "/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

}  // namespace

uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

void sleep_until_ns(uint64_t t) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(t / 1000000000u);
  ts.tv_nsec = static_cast<long>(t % 1000000000u);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

void cpu_probe::start(long server_pid) {
  server_pid_ = server_pid;
  rss_reset_ = server_pid_ > 0 && reset_peak_rss(server_pid_);
  on_ = read_machine(machine_busy0_, softirq0_);
  server_ticks0_ = read_process_ticks(server_pid_);
  self_us0_ = self_cpu_us();
  t0_ns_ = now_ns();
}

std::string cpu_probe::stop() const {
  if (!on_) return "";
  uint64_t busy1 = 0, softirq1 = 0;
  if (!read_machine(busy1, softirq1)) return "";
  double wall = static_cast<double>(now_ns() - t0_ns_) / 1e9;
  if (wall <= 0) return "";
  double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  double busy = static_cast<double>(busy1 - machine_busy0_) / tick;
  double softirq = static_cast<double>(softirq1 - softirq0_) / tick;
  double server = server_pid_ > 0
                      ? static_cast<double>(read_process_ticks(server_pid_) - server_ticks0_) / tick
                      : 0.0;
  double client = static_cast<double>(self_cpu_us() - self_us0_) / 1e6;
  double other = std::max(0.0, busy - softirq - server - client);
  char buf[256];
  std::snprintf(buf, sizeof buf,
                " cpu_client_pct=%.0f cpu_server_pct=%.0f cpu_softirq_pct=%.0f cpu_other_pct=%.0f",
                100 * client / wall, server_pid_ > 0 ? 100 * server / wall : -1.0,
                100 * softirq / wall, 100 * other / wall);
  std::string out = buf;
  if (server_pid_ > 0) {
    long kib = read_peak_rss_kib(server_pid_);
    if (kib >= 0) {
      std::snprintf(buf, sizeof buf, " server_rss_mb=%.1f rss_scope=%s",
                    static_cast<double>(kib) / 1024.0, rss_reset_ ? "run" : "process");
      out += buf;
    }
  }
  return out;
}

}  // namespace actormq::perf
