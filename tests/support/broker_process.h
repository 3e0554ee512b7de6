#pragma once
// broker_process: runs the real actormq-broker binary for integration tests.
// The binary's path comes from the ACTORMQ_BROKER_BIN compile definition.
// start() launches `actormq-broker --listen HOST:PORT --data-dir DIR`, reads
// its output until the line `listening on HOST:PORT` (bounded wait) and
// exposes that address; stop() sends SIGTERM (or SIGKILL) and waits (bounded,
// SIGKILL after the bound); restart() starts again on the same data dir and,
// when it is free, the same port. Everything the broker prints is kept for
// diagnostics (output()).
//
// Not thread-safe: drive it from the test's thread.

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/process_state.h"
#include "support/temp_dir.h"

#ifndef ACTORMQ_BROKER_BIN
#error "ACTORMQ_BROKER_BIN must name the actormq-broker binary"
#endif

namespace actormq::test {

class broker_process {
 public:
  /// A broker on a fresh temporary data directory (removed at the end).
  explicit broker_process(std::vector<std::string> extra_args = {})
      : own_dir_(std::in_place, "actormq-broker"),
        data_dir_(own_dir_->path()),
        extra_args_(std::move(extra_args)) {}
  /// A broker on a given data directory (kept).
  broker_process(std::filesystem::path data_dir, std::vector<std::string> extra_args)
      : data_dir_(std::move(data_dir)), extra_args_(std::move(extra_args)) {}
  ~broker_process() { stop(true); }
  broker_process(const broker_process&) = delete;
  broker_process& operator=(const broker_process&) = delete;

  /// Starts the broker listening on listen (port 0 = any free port). Returns
  /// false (see error()) if it exits or prints no listening line within
  /// timeout.
  bool start(const std::string& listen = "127.0.0.1:0",
             std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    if (pid_ > 0) return true;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return fail("pipe failed");
    std::vector<std::string> args = {ACTORMQ_BROKER_BIN, "--listen", listen, "--data-dir",
                                     data_dir_.string()};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    {
      std::lock_guard lk(mu_);
      output_.clear();
      address_.clear();
      http_address_.clear();
      eof_ = false;
    }
    pid_t pid = ::fork();
    if (pid < 0) return fail("fork failed");
    if (pid == 0) {
      for (const auto& [name, value] : env_) ::setenv(name.c_str(), value.c_str(), 1);
      if (fd_limit_ > 0) {
        rlimit rl{fd_limit_, fd_limit_};
        ::setrlimit(RLIMIT_NOFILE, &rl);
      }
      ::dup2(fds[1], 1);
      ::dup2(fds[1], 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    pid_ = pid;
    reader_ = std::thread([this, fd = fds[0]] { read_output(fd); });
    std::unique_lock lk(mu_);
    bool up = cv_.wait_for(lk, timeout, [this] { return !address_.empty() || eof_; });
    if (!up || address_.empty()) {
      lk.unlock();
      auto out = output();
      stop(true);
      return fail((up ? "broker exited before listening" : "no 'listening on' line in time") +
                  std::string(": ") + out);
    }
    return true;
  }

  /// Stops the broker: SIGTERM (SIGKILL when kill), then waits up to wait
  /// and SIGKILLs if it is still there. Returns its exit status (or -signal).
  std::optional<int> stop(bool kill = false,
                          std::chrono::milliseconds wait = std::chrono::seconds(15)) {
    if (pid_ <= 0) return std::nullopt;
    ::kill(pid_, kill ? SIGKILL : SIGTERM);
    if (!kill) ::kill(pid_, SIGCONT);  // a paused broker must run to stop
    auto deadline = std::chrono::steady_clock::now() + wait;
    int status = 0;
    pid_t r = 0;
    while ((r = ::waitpid(pid_, &status, WNOHANG)) == 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        r = ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
    if (reader_.joinable()) reader_.join();
    if (r <= 0) return std::nullopt;
    last_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    return last_status_;
  }

  /// Stops (SIGTERM or SIGKILL) and starts again on the same data directory,
  /// on the same port when it can be bound again.
  bool restart(bool kill = false) {
    auto old = address_;
    stop(kill);
    if (!old.empty() && start(old)) return true;
    return start("127.0.0.1:0");
  }

  /// Freezes (SIGSTOP; returns once it is stopped, at most 5 s) or thaws
  /// (SIGCONT) the running broker.
  void pause() {
    if (pid_ > 0) {
      ::kill(pid_, SIGSTOP);
      wait_stopped(pid_);
    }
  }
  void resume() {
    if (pid_ > 0) ::kill(pid_, SIGCONT);
  }
  /// The descriptor limit (RLIMIT_NOFILE) of the next start; 0 = inherited.
  void set_fd_limit(rlim_t n) { fd_limit_ = n; }
  /// An environment variable of the next start (e.g. ACTORMQ_FAULTS_FILE).
  void set_env(std::string name, std::string value) {
    env_.emplace_back(std::move(name), std::move(value));
  }

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  /// "HOST:PORT" from the listening line.
  std::string address() const {
    std::lock_guard lk(mu_);
    return address_;
  }
  std::string output() const {
    std::lock_guard lk(mu_);
    return output_;
  }
  /// "HOST:PORT" from the "http listening on" line (started with --http),
  /// waited for at most timeout; empty when it did not come.
  std::string http_address(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, timeout, [this] { return !http_address_.empty() || eof_; });
    return http_address_;
  }
  const std::string& error() const { return error_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  int last_status() const { return last_status_; }

 private:
  bool fail(std::string why) {
    error_ = std::move(why);
    return false;
  }

  void read_output(int fd) {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      std::lock_guard lk(mu_);
      size_t scan_from = output_.size();
      if (output_.size() < (size_t{4} << 20)) output_.append(buf, static_cast<size_t>(n));
      if (http_address_.empty()) {
        constexpr std::string_view marker = "\nhttp listening on ";
        auto at = output_.find(marker, scan_from > 64 ? scan_from - 64 : 0);
        if (at != std::string::npos) {
          auto start = at + marker.size();
          auto end = output_.find_first_of(" \r\n\t", start);
          if (end != std::string::npos) {
            http_address_ = output_.substr(start, end - start);
            cv_.notify_all();
          }
        }
      }
      if (address_.empty()) {
        // At a line's start ("http listening on" is the inspector's port).
        constexpr std::string_view marker = "listening on ";
        auto at = output_.find(marker, scan_from > 64 ? scan_from - 64 : 0);
        while (at != std::string::npos && at > 0 && output_[at - 1] != '\n') {
          at = output_.find(marker, at + 1);
        }
        if (at != std::string::npos) {
          auto start = at + marker.size();
          auto end = output_.find_first_of(" \r\n\t", start);
          if (end != std::string::npos) {
            address_ = output_.substr(start, end - start);
            cv_.notify_all();
          }
        }
      }
    }
    ::close(fd);
    std::lock_guard lk(mu_);
    eof_ = true;
    cv_.notify_all();
  }

  std::optional<temp_dir> own_dir_;
  std::filesystem::path data_dir_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  std::vector<std::pair<std::string, std::string>> env_;
  rlim_t fd_limit_ = 0;
  int last_status_ = 0;
  std::thread reader_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string output_;
  std::string http_address_;
  std::string address_;
  bool eof_ = false;
  std::string error_;
};

}  // namespace actormq::test
