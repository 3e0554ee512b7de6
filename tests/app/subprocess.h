#pragma once
// run_subprocess: runs a program with the given stdin, collects stdout and
// stderr, and kills it if it outlives the timeout. For the CLI tests.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

namespace actormq::test {

struct subprocess_result {
  int exit_code = -1;  ///< -signal when killed
  bool timed_out = false;
  std::string out;
  std::string err;
};

inline subprocess_result run_subprocess(
    std::vector<std::string> args, const std::string& input = {},
    std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  subprocess_result res;
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC)) return res;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  ::fcntl(in[1], F_SETFL, O_NONBLOCK);
  size_t written = 0;
  if (input.empty()) {
    ::close(in[1]);
    in[1] = -1;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      res.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd fds[3];
    int n = 0;
    int i_out = -1, i_err = -1, i_in = -1;
    if (out_open) {
      fds[n] = {out[0], POLLIN, 0};
      i_out = n++;
    }
    if (err_open) {
      fds[n] = {err[0], POLLIN, 0};
      i_err = n++;
    }
    if (in[1] >= 0) {
      fds[n] = {in[1], POLLOUT, 0};
      i_in = n++;
    }
    if (::poll(fds, static_cast<nfds_t>(n),
               static_cast<int>(std::min<int64_t>(left.count(), 100))) < 0)
      continue;
    char buf[65536];
    auto drain = [&](int idx, int fd, bool& open, std::string& to) {
      if (idx < 0 || !(fds[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
      ssize_t r = ::read(fd, buf, sizeof buf);
      if (r > 0)
        to.append(buf, static_cast<size_t>(r));
      else if (r == 0 || errno != EINTR)
        open = false;
    };
    drain(i_out, out[0], out_open, res.out);
    drain(i_err, err[0], err_open, res.err);
    if (i_in >= 0 && (fds[i_in].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = ::write(in[1], input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if (w < 0 && errno != EAGAIN && errno != EINTR) written = input.size();
      if (written == input.size()) {
        ::close(in[1]);
        in[1] = -1;
      }
    }
  }
  if (in[1] >= 0) ::close(in[1]);
  ::close(out[0]);
  ::close(err[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  res.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  return res;
}

}  // namespace actormq::test
