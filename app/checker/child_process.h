#pragma once
// child_process: one process the checker starts and abuses (etcd, a broker).
// Its stdout and stderr go to a log file (appended across restarts, so a
// broker's whole life is in one file). Signals: kill (SIGKILL), pause
// (SIGSTOP), resume (SIGCONT), stop (SIGTERM, then SIGKILL after a bound).
// Every wait is bounded.
//
// Not thread-safe: the scenario's thread drives it.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace actormq::checker {

class child_process {
 public:
  /// argv[0] is the binary's path.
  child_process(std::vector<std::string> argv, std::filesystem::path log);
  /// SIGKILL if still running.
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// Forks and execs; false with error() when fork fails.
  bool start();
  /// SIGTERM (SIGKILL when kill), SIGCONT so a paused process can act on it,
  /// then waits up to wait and SIGKILLs. The exit status (or -signal).
  std::optional<int> stop(bool kill, std::chrono::milliseconds wait = std::chrono::seconds(15));
  void pause();
  void resume();
  /// True while started and not reaped (a process that exited on its own
  /// is reaped here).
  bool running();
  bool paused() const { return paused_; }
  pid_t pid() const { return pid_; }
  /// Replaces the arguments of the next start (e.g. a new port).
  void set_argv(std::vector<std::string> argv) { argv_ = std::move(argv); }
  const std::filesystem::path& log_path() const { return log_; }
  /// The log file's contents from byte `from` on.
  std::string log_from(std::uintmax_t from) const;
  /// The log file's size now (where the next start's output begins).
  std::uintmax_t log_size() const;
  const std::string& error() const { return error_; }

 private:
  std::vector<std::string> argv_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
  bool paused_ = false;
  std::string error_;
};

}  // namespace actormq::checker
