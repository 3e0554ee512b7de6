#include "actors/retry/alert_hook.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "actors/logger.h"

extern char** environ;

namespace actormq::retry {

alert_hook::alert_hook(std::string command, size_t max_queue, std::chrono::milliseconds timeout)
    : command_(std::move(command)), max_queue_(max_queue), timeout_(timeout) {
  worker_ = std::thread([this] { run(); });
}

alert_hook::~alert_hook() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  worker_.join();
}

bool alert_hook::fire(alert a) {
  {
    std::lock_guard lk(mu_);
    if (stop_ || queue_.size() >= max_queue_) {
      ++dropped_;
      return false;
    }
    queue_.push_back(std::move(a));
  }
  cv_.notify_one();
  return true;
}

uint64_t alert_hook::ran() const {
  std::lock_guard lk(mu_);
  return ran_;
}

uint64_t alert_hook::dropped() const {
  std::lock_guard lk(mu_);
  return dropped_;
}

uint64_t alert_hook::failed() const {
  std::lock_guard lk(mu_);
  return failed_;
}

void alert_hook::run() {
  for (;;) {
    alert a;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      a = std::move(queue_.front());
      queue_.pop_front();
    }
    bool ok = run_one(a);
    std::lock_guard lk(mu_);
    ++ran_;
    if (!ok) ++failed_;
  }
}

bool alert_hook::run_one(const alert& a) {
  std::vector<std::string> env_strings;
  for (char** e = environ; e && *e; ++e) env_strings.emplace_back(*e);
  for (const auto& [k, v] : a.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", dash_c = "-c", cmd = command_;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};
  pid_t pid = 0;
  // Its own process group, so that a timeout kills the command's children
  // too (sh -c forks them; killing only sh would leave them running).
  posix_spawnattr_t attr;
  ::posix_spawnattr_init(&attr);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  ::posix_spawnattr_setpgroup(&attr, 0);
  int rc = ::posix_spawn(&pid, "/bin/sh", nullptr, &attr, argv, envp.data());
  ::posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    actor_log().warn("alerts: cannot run hook '{}': error {}", command_, rc);
    return false;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0) return false;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      actor_log().warn("alerts: hook '{}' ran longer than {} ms; killed", command_,
                       timeout_.count());
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace actormq::retry
