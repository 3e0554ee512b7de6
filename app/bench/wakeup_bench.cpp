// actormq-wakeup-bench: what a chain of thread hand-offs costs on this
// machine, alone, with nothing of ActorMQ in it. The floor under W4's latency
// (docs/benchmarks.md, "W4: the floor of a hand-off").
//
//   actormq-wakeup-bench --hops KIND[,KIND...] [--rate R] [--seconds S]
//                        [--work-us W]
//
// A pacer thread stamps a message R times a second (absolute schedule, as
// actormq-perf latency paces its producer) and hands it down a chain of
// threads, one per hop; the last thread records now - stamp. Each KIND is how
// one thread wakes the next, the way a hop of the message path does it:
//   condvar  std::mutex + std::condition_variable (CAF's sharing scheduler,
//            the client's sender thread and poll())
//   eventfd  epoll_wait on an eventfd (a KJ event loop woken from another
//            thread: kj::Executor, a cross-thread fulfiller)
//   tcp      a loopback TCP connection with TCP_NODELAY, blocking recv (a
//            network hop between client and broker)
//   spin     the receiver polls an atomic without sleeping (no wake-up at
//            all: the cost of moving the cache line)
// Redis's W4 path is --hops tcp,tcp; ActorMQ's is listed in the doc.
// --work-us W makes every thread of the chain compute for W µs (a spin on the
// clock) before it hands the message on: a chain that uses as much CPU per
// message as the real path, to see what waiting for a core adds.
//
// Output, one line: hops= n_hops= rate= msgs= p50_us= p99_us= p999_us=
// max_us= (now - stamp), co_* (now - scheduled time), cpu_us_per_msg (all
// threads, getrusage), ctx_per_msg (voluntary + involuntary switches).
//
//   actormq-wakeup-bench --window N --hops KIND[,KIND...] --work-us W[,W...]
//                        [--seconds S]
//
// A ring instead of a paced chain: the floor under W2's throughput
// (docs/benchmarks.md, "W2 and the scheduler"). One thread per hop; thread i
// takes a message from the hop before it, computes for its W µs of its own
// CPU time (CLOCK_THREAD_CPUTIME_ID: a thread waiting for a core does no
// work), and hands the message to hop i; the last hop leads back to thread 0.
// N messages circulate, as a producer keeps N batches in flight, so no thread
// ever waits for a reason of the ring's own but a full ring. With ncpu cores
// the ring could complete min(min(ncpu, N) / sum(W), 1 / max(W)) messages a
// second; what it loses against that is the machine's scheduling (a woken thread that
// waits for a busy core while another core is idle), its hand-offs' own CPU
// and nothing else.
// Output, one line: bench=ring hops= window= work_us= msgs_per_s=
// ideal_msgs_per_s= of_ideal= cpu_us_per_msg= busy_pct (CPU used over
// ncpu x wall time) ctx_per_msg=.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "process_stats.h"

namespace {

/// A clock's time, ns.
uint64_t clock_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t now_ns() {
  return clock_ns(CLOCK_MONOTONIC);
}

/// Computes (spins on the clock) for ns nanoseconds.
void work_ns(uint64_t ns) {
  if (ns == 0) return;
  const uint64_t until = now_ns() + ns;
  while (now_ns() < until) {
  }
}

void sleep_until_ns(uint64_t t) {
  timespec ts{static_cast<time_t>(t / 1'000'000'000ull), static_cast<long>(t % 1'000'000'000ull)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

/// A message: when it was stamped and when it was due. stamp 0 ends the run.
struct message {
  uint64_t stamp = 0;
  uint64_t due = 0;
};

/// One hand-off between two threads.
class hop {
 public:
  virtual ~hop() = default;
  virtual void send(message m) = 0;
  virtual message recv() = 0;
};

class condvar_hop : public hop {
 public:
  void send(message m) override {
    {
      std::lock_guard lk(mu_);
      q_.push_back(m);
    }
    cv_.notify_one();
  }
  message recv() override {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return !q_.empty(); });
    auto m = q_.front();
    q_.pop_front();
    return m;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<message> q_;
};

class eventfd_hop : public hop {
 public:
  eventfd_hop() {
    efd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (efd_ < 0 || ep_ < 0) throw std::runtime_error("eventfd/epoll_create1 failed");
    epoll_event ev{};
    ev.events = EPOLLIN;
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, efd_, &ev) != 0) throw std::runtime_error("epoll_ctl");
  }
  ~eventfd_hop() override {
    close(efd_);
    close(ep_);
  }
  void send(message m) override {
    {
      std::lock_guard lk(mu_);
      q_.push_back(m);
    }
    uint64_t one = 1;
    (void)!write(efd_, &one, sizeof one);
  }
  message recv() override {
    for (;;) {
      {
        std::lock_guard lk(mu_);
        if (!q_.empty()) {
          auto m = q_.front();
          q_.pop_front();
          return m;
        }
      }
      epoll_event ev{};
      if (epoll_wait(ep_, &ev, 1, -1) == 1) {
        uint64_t n = 0;
        (void)!read(efd_, &n, sizeof n);
      }
    }
  }

 private:
  int efd_ = -1;
  int ep_ = -1;
  std::mutex mu_;
  std::deque<message> q_;
};

class tcp_hop : public hop {
 public:
  tcp_hop() {
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (lfd < 0 || bind(lfd, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(lfd, 1) != 0 ||
        getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("tcp listen failed");
    }
    out_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (out_ < 0 || connect(out_, reinterpret_cast<sockaddr*>(&a), len) != 0) {
      throw std::runtime_error("tcp connect failed");
    }
    in_ = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    close(lfd);
    if (in_ < 0) throw std::runtime_error("tcp accept failed");
    int one = 1;
    setsockopt(out_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(in_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~tcp_hop() override {
    close(in_);
    close(out_);
  }
  void send(message m) override {
    const char* p = reinterpret_cast<const char*>(&m);
    size_t left = sizeof m;
    while (left > 0) {
      ssize_t n = ::send(out_, p, left, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("tcp send failed");
      p += n;
      left -= static_cast<size_t>(n);
    }
  }
  message recv() override {
    message m;
    char* p = reinterpret_cast<char*>(&m);
    size_t left = sizeof m;
    while (left > 0) {
      ssize_t n = ::recv(in_, p, left, 0);
      if (n <= 0) throw std::runtime_error("tcp recv failed");
      p += n;
      left -= static_cast<size_t>(n);
    }
    return m;
  }

 private:
  int in_ = -1;
  int out_ = -1;
};

class spin_hop : public hop {
 public:
  void send(message m) override {
    auto h = head_.load(std::memory_order_relaxed);
    while (h - tail_.load(std::memory_order_acquire) == ring_.size()) {
    }
    ring_[h % ring_.size()] = m;
    head_.store(h + 1, std::memory_order_release);
  }
  message recv() override {
    auto t = tail_.load(std::memory_order_relaxed);
    while (head_.load(std::memory_order_acquire) == t) {
    }
    auto m = ring_[t % ring_.size()];
    tail_.store(t + 1, std::memory_order_release);
    return m;
  }

 private:
  std::vector<message> ring_ = std::vector<message>(4096);
  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint64_t> tail_{0};
};

std::unique_ptr<hop> make_hop(const std::string& kind) {
  if (kind == "condvar") return std::make_unique<condvar_hop>();
  if (kind == "eventfd") return std::make_unique<eventfd_hop>();
  if (kind == "tcp") return std::make_unique<tcp_hop>();
  if (kind == "spin") return std::make_unique<spin_hop>();
  throw std::invalid_argument("unknown hop kind '" + kind + "' (condvar, eventfd, tcp, spin)");
}

std::string us(double ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", ns / 1000.0);
  return buf;
}

/// This thread's CPU time, ns.
uint64_t thread_cpu_ns() {
  return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

/// Computes until this thread has used ns more nanoseconds of CPU.
void cpu_work_ns(uint64_t ns) {
  if (ns == 0) return;
  const uint64_t until = thread_cpu_ns() + ns;
  while (thread_cpu_ns() < until) {
  }
}

/// The --window mode: `window` messages circulate through one thread per hop.
int run_ring(std::vector<std::unique_ptr<hop>>& hops, const std::string& hops_arg,
             const std::vector<double>& work_us, uint64_t window, double seconds, double warmup) {
  const size_t k = hops.size();
  std::vector<uint64_t> work(k);
  double sum_us = 0, max_us = 0;
  for (size_t i = 0; i < k; ++i) {
    const double w = work_us.size() == 1 ? work_us[0] : work_us[i];
    work[i] = static_cast<uint64_t>(w * 1000);
    sum_us += w;
    max_us = std::max(max_us, w);
  }
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> laps{0};  // messages that came back to thread 0
  std::vector<std::thread> threads;
  for (size_t i = 0; i < k; ++i) {
    threads.emplace_back([&, i] {
      auto& in = *hops[(i + k - 1) % k];
      auto& out = *hops[i];
      for (;;) {
        auto m = in.recv();
        if (m.stamp == 0) {
          if (i + 1 < k) out.send(m);  // thread 0 ends the ring: nobody reads its last hop
          return;
        }
        if (i == 0) {
          laps.fetch_add(1, std::memory_order_relaxed);
          if (stop.load(std::memory_order_relaxed)) {
            out.send(message{});
            return;
          }
        }
        cpu_work_ns(work[i]);
        out.send(m);
      }
    });
  }
  for (uint64_t j = 0; j < window; ++j) hops.back()->send(message{j + 1, 0});
  sleep_until_ns(now_ns() + static_cast<uint64_t>(warmup * 1e9));
  const auto before = actormq::bench::self_usage();
  const uint64_t laps0 = laps.load();
  const uint64_t t0 = now_ns();
  sleep_until_ns(t0 + static_cast<uint64_t>(seconds * 1e9));
  const uint64_t laps1 = laps.load();
  const uint64_t t1 = now_ns();
  const auto after = actormq::bench::self_usage();
  stop = true;
  for (auto& t : threads) t.join();
  const double wall = static_cast<double>(t1 - t0) / 1e9;
  const auto msgs = static_cast<double>(laps1 - laps0);
  const double ncpu = static_cast<double>(std::thread::hardware_concurrency());
  const double busy_max = std::min(ncpu, static_cast<double>(window));  // threads at work at once
  const double ideal = std::min(busy_max / sum_us, 1.0 / max_us) * 1e6;
  const double rate = msgs / wall;
  const double cpu = after.cpu_s - before.cpu_s;
  std::string work_arg;
  for (size_t i = 0; i < k; ++i) {
    work_arg += (i ? "," : "") + us(static_cast<double>(work[i]));
  }
  std::printf(
      "bench=ring hops=%s window=%llu work_us=%s ncpu=%.0f msgs_per_s=%.0f ideal_msgs_per_s=%.0f "
      "of_ideal=%.3f cpu_us_per_msg=%.1f busy_pct=%.1f ctx_per_msg=%.2f\n",
      hops_arg.c_str(), static_cast<unsigned long long>(window), work_arg.c_str(), ncpu, rate,
      ideal, rate / ideal, msgs > 0 ? cpu * 1e6 / msgs : 0.0, 100.0 * cpu / (wall * ncpu),
      msgs > 0 ? static_cast<double>(after.switches - before.switches) / msgs : 0.0);
  return msgs > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ActorMQ thread hand-off floor benchmark"};
  std::string hops_arg = "condvar";
  double rate = 10000;
  double seconds = 10;
  double warmup = 1;
  std::string work_arg = "0";
  uint64_t window = 0;
  app.add_option("--hops", hops_arg, "comma-separated hop kinds: condvar, eventfd, tcp, spin")
      ->capture_default_str();
  app.add_option("--rate", rate, "messages per second")->capture_default_str();
  app.add_option("--seconds", seconds, "measured seconds")->capture_default_str();
  app.add_option("--warmup", warmup, "seconds sent before measuring")->capture_default_str();
  app.add_option("--work-us", work_arg,
                 "CPU each thread spends on a message before handing it on (with --window, "
                 "one value a thread, or one for all)")
      ->capture_default_str();
  app.add_option("--window", window,
                 "a ring with this many messages in it instead of a paced chain")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (rate <= 0 || seconds <= 0) return std::fprintf(stderr, "--rate and --seconds > 0\n"), 2;

  std::vector<std::string> kinds;
  std::stringstream ss(hops_arg);
  for (std::string k; std::getline(ss, k, ',');) kinds.push_back(k);
  std::vector<std::unique_ptr<hop>> hops;
  try {
    for (const auto& k : kinds) hops.push_back(make_hop(k));
  } catch (const std::exception& e) {
    return std::fprintf(stderr, "%s\n", e.what()), 2;
  }
  if (hops.empty()) return std::fprintf(stderr, "--hops: at least one\n"), 2;
  std::vector<double> work_list;
  try {
    std::stringstream ws(work_arg);
    for (std::string w; std::getline(ws, w, ',');) work_list.push_back(std::stod(w));
  } catch (const std::exception&) {
    return std::fprintf(stderr, "--work-us: numbers, comma-separated\n"), 2;
  }
  const bool one_work = work_list.size() == 1;
  if (work_list.empty() ||
      std::any_of(work_list.begin(), work_list.end(), [](double w) { return w < 0; })) {
    return std::fprintf(stderr, "--work-us: one or more values >= 0\n"), 2;
  }
  if (window > 0) {
    if (!one_work && work_list.size() != hops.size()) {
      return std::fprintf(stderr, "--work-us: one value, or one a hop\n"), 2;
    }
    if (hops.size() < 2) return std::fprintf(stderr, "--window: at least two hops\n"), 2;
    if (std::all_of(work_list.begin(), work_list.end(), [](double w) { return w == 0; })) {
      return std::fprintf(stderr, "--window: some --work-us > 0\n"), 2;
    }
    return run_ring(hops, hops_arg, work_list, window, seconds, warmup);
  }
  if (!one_work) return std::fprintf(stderr, "--work-us: one value without --window\n"), 2;
  const double work_us = work_list[0];

  const auto interval = static_cast<uint64_t>(1e9 / rate);
  const auto work = static_cast<uint64_t>(work_us * 1000);
  const auto n_warm = static_cast<uint64_t>(warmup * rate);
  const auto n = static_cast<uint64_t>(seconds * rate);
  std::vector<int64_t> lat, co;
  lat.reserve(n);
  co.reserve(n);

  std::vector<std::thread> relays;
  for (size_t i = 1; i < hops.size(); ++i) {
    relays.emplace_back([&, i] {
      for (;;) {
        auto m = hops[i - 1]->recv();
        if (m.stamp != 0) work_ns(work);
        hops[i]->send(m);
        if (m.stamp == 0) return;
      }
    });
  }
  std::thread sink([&] {
    uint64_t seen = 0;
    for (;;) {
      auto m = hops.back()->recv();
      if (m.stamp == 0) return;
      work_ns(work);
      auto t = now_ns();
      if (++seen > n_warm) {
        lat.push_back(static_cast<int64_t>(t - m.stamp));
        co.push_back(static_cast<int64_t>(t - m.due));
      }
    }
  });

  actormq::bench::cpu_usage before;
  const uint64_t start = now_ns() + 10'000'000;
  for (uint64_t i = 0; i < n_warm + n; ++i) {
    if (i == n_warm) before = actormq::bench::self_usage();
    uint64_t due = start + i * interval;
    if (now_ns() < due) sleep_until_ns(due);
    auto stamp = now_ns();
    work_ns(work);
    hops.front()->send(message{stamp, due});
  }
  hops.front()->send(message{});
  sink.join();
  for (auto& t : relays) t.join();
  const auto after = actormq::bench::self_usage();
  const double cpu = after.cpu_s - before.cpu_s;
  const auto ctx = static_cast<double>(after.switches - before.switches);
  const double msgs = static_cast<double>(lat.size());
  using actormq::bench::percentile;
  auto lat_max = lat.empty() ? 0.0 : static_cast<double>(*std::max_element(lat.begin(), lat.end()));
  auto co_max = co.empty() ? 0.0 : static_cast<double>(*std::max_element(co.begin(), co.end()));
  std::printf(
      "bench=wakeup hops=%s n_hops=%zu rate=%.0f work_us=%.1f msgs=%.0f p50_us=%s p99_us=%s "
      "p999_us=%s "
      "max_us=%s per_hop_p50_us=%s co_p50_us=%s co_p99_us=%s co_p999_us=%s co_max_us=%s "
      "cpu_us_per_msg=%.2f ctx_per_msg=%.2f\n",
      hops_arg.c_str(), hops.size(), rate, work_us, msgs, us(percentile(lat, 0.50)).c_str(),
      us(percentile(lat, 0.99)).c_str(), us(percentile(lat, 0.999)).c_str(), us(lat_max).c_str(),
      us(percentile(lat, 0.50) / static_cast<double>(hops.size())).c_str(),
      us(percentile(co, 0.50)).c_str(), us(percentile(co, 0.99)).c_str(),
      us(percentile(co, 0.999)).c_str(), us(co_max).c_str(), msgs > 0 ? cpu * 1e6 / msgs : 0.0,
      msgs > 0 ? ctx / msgs : 0.0);
  return 0;
}
