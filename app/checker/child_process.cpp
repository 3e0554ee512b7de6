#include "child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <thread>

namespace actormq::checker {

child_process::child_process(std::vector<std::string> argv, std::filesystem::path log)
    : argv_(std::move(argv)), log_(std::move(log)) {}

child_process::~child_process() {
  stop(true, std::chrono::seconds(5));
}

bool child_process::start() {
  if (running()) return true;
  std::vector<char*> argv;
  for (auto& a : argv_) argv.push_back(a.data());
  argv.push_back(nullptr);
  auto log = log_.string();
  pid_t pid = ::fork();
  if (pid < 0) {
    error_ = "fork failed";
    return false;
  }
  if (pid == 0) {
    // A process group of its own: a terminal's Ctrl-C goes to the checker,
    // which stops its children itself.
    ::setpgid(0, 0);
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  paused_ = false;
  return true;
}

std::optional<int> child_process::stop(bool kill, std::chrono::milliseconds wait) {
  if (pid_ <= 0) return std::nullopt;
  ::kill(pid_, kill ? SIGKILL : SIGTERM);
  ::kill(pid_, SIGCONT);
  paused_ = false;
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
  if (r <= 0) return std::nullopt;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

void child_process::pause() {
  if (pid_ > 0 && !paused_) {
    ::kill(pid_, SIGSTOP);
    paused_ = true;
  }
}

void child_process::resume() {
  if (pid_ > 0 && paused_) {
    ::kill(pid_, SIGCONT);
    paused_ = false;
  }
}

bool child_process::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    paused_ = false;
    return false;
  }
  return true;
}

std::string child_process::log_from(std::uintmax_t from) const {
  std::ifstream in(log_, std::ios::binary);
  if (!in) return {};
  in.seekg(static_cast<std::streamoff>(from));
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::uintmax_t child_process::log_size() const {
  std::error_code ec;
  auto n = std::filesystem::file_size(log_, ec);
  return ec ? 0 : n;
}

}  // namespace actormq::checker
