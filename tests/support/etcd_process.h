#pragma once
// etcd_process: runs a real one-node etcd (Debian etcd-server, /usr/bin/etcd)
// on loopback for integration tests. start() picks free client and peer
// ports (bind port 0, then hand the port to etcd; if etcd loses the race for
// a port it exits and start() tries again with new ports, a few times), uses
// a fresh data directory, and waits (bounded) until GET /health answers
// {"health":"true"}. stop() (SIGTERM, SIGKILL after a bound), kill()
// (SIGKILL), pause() (SIGSTOP), resume() (SIGCONT); restart() starts again
// on the same data directory and ports. etcd's own log goes to a file kept
// for diagnostics (log()).
//
// Not thread-safe: drive it from the test's thread.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/process_state.h"
#include "support/temp_dir.h"

namespace actormq::test {

class etcd_process {
 public:
  static constexpr const char* binary = "/usr/bin/etcd";

  etcd_process() : dir_("actormq-etcd"), data_dir_(dir_.path() / "data") {}
  ~etcd_process() { kill(); }
  etcd_process(const etcd_process&) = delete;
  etcd_process& operator=(const etcd_process&) = delete;

  /// Starts etcd (on new free ports the first time, on the same ports
  /// after). Returns false (see error()) if it is not healthy within timeout.
  bool start(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    if (pid_ > 0) return true;
    bool fresh_ports = client_port_ == 0;
    for (int attempt = 0; attempt < 4; ++attempt) {
      if (fresh_ports) {
        client_port_ = free_port();
        peer_port_ = free_port();
        if (client_port_ == 0 || peer_port_ == 0 || client_port_ == peer_port_) continue;
      }
      if (launch() && wait_healthy(timeout)) return true;
      kill();
      if (!fresh_ports) {
        // Same ports after a stop: the old sockets may linger a moment.
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
    error_ = "etcd did not become healthy: " + log();
    return false;
  }

  /// SIGTERM, then SIGKILL if it has not exited within wait.
  void stop(std::chrono::milliseconds wait = std::chrono::seconds(10)) {
    signal_and_reap(SIGTERM, wait);
  }
  /// SIGKILL: the connections drop at once.
  void kill() { signal_and_reap(SIGKILL, std::chrono::seconds(10)); }
  /// SIGSTOP: connections stay open, nothing answers (returns once it is
  /// stopped, at most 5 s).
  void pause() {
    if (pid_ > 0 && !paused_) {
      ::kill(pid_, SIGSTOP);
      wait_stopped(pid_);
      paused_ = true;
    }
  }
  void resume() {
    if (pid_ > 0 && paused_) {
      ::kill(pid_, SIGCONT);
      paused_ = false;
    }
  }
  /// stop() and start() on the same data directory and ports.
  bool restart() {
    stop();
    return start();
  }

  bool running() const { return pid_ > 0; }
  uint16_t client_port() const { return client_port_; }
  std::string client_url() const { return "http://127.0.0.1:" + std::to_string(client_port_); }
  const std::string& error() const { return error_; }
  std::string log() const {
    std::ifstream in(dir_.path() / "etcd.log");
    std::stringstream ss;
    ss << in.rdbuf();
    auto s = ss.str();
    return s.size() > 4000 ? s.substr(s.size() - 4000) : s;
  }

  /// A blocking HTTP POST to the client port (for what the client under test
  /// does not do, e.g. /v3/kv/compaction). Returns the response, head and
  /// body, or "" when it cannot connect. Bounded by a 5 s socket timeout.
  std::string post(const std::string& path, const std::string& body) const {
    return http("POST " + path +
                " HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: "
                "application/json\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body);
  }

  /// A port on 127.0.0.1 that nothing listens on right now.
  static uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    uint16_t port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    ::close(fd);
    return port;
  }

 private:
  bool launch() {
    auto client = "http://127.0.0.1:" + std::to_string(client_port_);
    auto peer = "http://127.0.0.1:" + std::to_string(peer_port_);
    std::vector<std::string> args = {binary,
                                     "--name",
                                     "test",
                                     "--data-dir",
                                     data_dir_.string(),
                                     "--listen-client-urls",
                                     client,
                                     "--advertise-client-urls",
                                     client,
                                     "--listen-peer-urls",
                                     peer,
                                     "--initial-advertise-peer-urls",
                                     peer,
                                     "--initial-cluster",
                                     "test=" + peer,
                                     "--initial-cluster-state",
                                     "new",
                                     "--logger",
                                     "zap",
                                     "--log-outputs",
                                     "stderr",
                                     "--log-level",
                                     "warn"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    auto log_path = (dir_.path() / "etcd.log").string();
    pid_t pid = ::fork();
    if (pid < 0) {
      error_ = "fork failed";
      return false;
    }
    if (pid == 0) {
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
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

  bool wait_healthy(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;  // exited (a port taken, a bad flag): the log says why
        return false;
      }
      auto reply = http("GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
      if (reply.find("\"health\":\"true\"") != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  std::string http(const std::string& request) const {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return {};
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(client_port_);
    std::string out;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
  }

  void signal_and_reap(int sig, std::chrono::milliseconds wait) {
    if (pid_ <= 0) return;
    if (paused_) ::kill(pid_, SIGCONT);
    ::kill(pid_, sig);
    auto deadline = std::chrono::steady_clock::now() + wait;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
    paused_ = false;
  }

  temp_dir dir_;
  std::filesystem::path data_dir_;
  uint16_t client_port_ = 0;
  uint16_t peer_port_ = 0;
  pid_t pid_ = -1;
  bool paused_ = false;
  std::string error_;
};

}  // namespace actormq::test
