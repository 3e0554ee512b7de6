// actormq-bytes-bench: what W2's bytes cost on this machine when nothing but
// the bytes is done with them. The floor under W2's throughput
// (docs/benchmarks.md, "W2: the floor of its bytes").
//
//   actormq-bytes-bench [--count N] [--size B] [--batch-bytes B]
//                       [--in-flight K] [--receiver-threads 1|2]
//                       [--dir D] [--segment-mb M] [--flush-ms T]
//
// Two processes on 127.0.0.1, as W2's producer and broker, with the byte
// work of W2 and no other:
//   producer (one thread): copies each B-byte value behind a 4-byte length
//     into a batch buffer (as producer::send() copies a record into its
//     batch), CRC32C's the full batch, writes it to a loopback TCP socket
//     with a 16-byte header and keeps up to K batches unacknowledged (W2's
//     max_in_flight_per_partition); batch buffers are reused, as the
//     client's batch_buffer_pool does.
//   receiver: reads each batch into a reused buffer, checks its CRC32C,
//     pwrite()s it at the end of a segment file (a new file every M MiB,
//     in a directory of its own made under D and deleted at the end) and
//     writes an 8-byte acknowledgement. --receiver-threads 2 reads on one
//     thread and checks and writes on another (the broker's connection
//     thread and its partition's worker), 1 does all on one thread. A third
//     thread syncs as the broker's flusher does with flush_ms = T: each
//     closed segment right after its roll, the active one once its oldest
//     unsynced byte is T ms old (--flush-ms 0: no sync, page cache only).
//     Segments still queued for their sync when the run ends are closed
//     unsynced, as the broker leaves them to its flusher.
// No record format, no RPC framing, no actors, no allocation per batch:
// the gap between this and W2 is what ActorMQ adds to moving the bytes.
//
// Output, one line: msgs= secs= msgs_per_s= mb_per_s= and per process the
// CPU (% of a core over the producer's timed run, µs a message) and context
// switches a message. The producer's figures cover its timed run (buffers
// allocated and touched before it); the receiver's are its whole life
// (getrusage at its exit), setup and the last syncs' join included.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "process_stats.h"
#include "storage/crc32c.h"

namespace {

double now_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "actormq-bytes-bench: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

/// Bytes of the length before each value in a batch.
constexpr size_t length_bytes = 4;

/// What precedes a batch on the socket; len 0 ends the run.
struct batch_header {
  uint64_t seq = 0;
  uint32_t len = 0;
  uint32_t crc = 0;
};

bool read_all(int fd, void* buf, size_t n) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

void write_all(int fd, iovec* iov, int n) {
  while (n > 0) {
    ssize_t w = ::writev(fd, iov, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) die("writev");
    auto left = static_cast<size_t>(w);
    while (n > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --n;
    }
    if (n > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
}

/// Appends batches to segment files of segment_bytes, as the log does. With
/// flush_ms > 0 a thread of its own syncs, as the broker's flusher does: each
/// closed segment right after the roll, and the active one once its oldest
/// unsynced data is flush_ms old (the log's flush_ms); with 0 nothing is
/// synced (page cache only).
class segment_writer {
 public:
  segment_writer(std::string dir, uint64_t segment_bytes, int64_t flush_ms)
      : dir_(std::move(dir)), segment_bytes_(segment_bytes), flush_ms_(flush_ms) {
    roll();
    if (flush_ms_ > 0) syncer_ = std::thread([this] { sync_loop(); });
  }
  ~segment_writer() {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (syncer_.joinable()) syncer_.join();
    for (int fd : closed_) ::close(fd);
    if (fd_ >= 0) ::close(fd_);
  }
  void append(const char* p, size_t n) {
    if (pos_ > 0 && pos_ + n > segment_bytes_) roll();
    while (n > 0) {
      ssize_t w = ::pwrite(fd_, p, n, static_cast<off_t>(pos_));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) die("pwrite");
      p += w;
      n -= static_cast<size_t>(w);
      pos_ += static_cast<uint64_t>(w);
    }
    if (flush_ms_ > 0) {
      std::lock_guard lk(mu_);
      if (oldest_unsynced_ == 0) oldest_unsynced_ = now_s();
    }
  }

 private:
  void roll() {
    auto path = dir_ + "/" + std::to_string(segments_++) + ".log";
    int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0644);
    if (fd < 0) die("open segment");
    pos_ = 0;
    int old = -1;
    {
      std::lock_guard lk(mu_);  // the sync thread dup()s fd_
      old = std::exchange(fd_, fd);
      if (old >= 0 && flush_ms_ > 0) closed_.push_back(old);
    }
    if (old < 0) return;
    if (flush_ms_ <= 0) {
      ::close(old);
      return;
    }
    cv_.notify_all();
  }

  void sync_loop() {
    std::unique_lock lk(mu_);
    while (!stop_) {
      if (!closed_.empty()) {
        int fd = closed_.front();
        closed_.pop_front();
        lk.unlock();
        if (::fdatasync(fd) != 0) die("fdatasync");
        ::close(fd);
        lk.lock();
        continue;
      }
      const double due = oldest_unsynced_ > 0 ? oldest_unsynced_ + flush_ms_ / 1e3 : 0;
      if (due > 0 && now_s() >= due) {
        oldest_unsynced_ = 0;
        int fd = ::dup(fd_);  // the appender may roll meanwhile
        lk.unlock();
        if (fd < 0 || ::fdatasync(fd) != 0) die("fdatasync");
        ::close(fd);
        lk.lock();
        continue;
      }
      const double wait_s = due > 0 ? due - now_s() : flush_ms_ / 1e3;
      cv_.wait_for(lk, std::chrono::duration<double>(std::max(wait_s, 0.0)));
    }
  }

  std::string dir_;
  uint64_t segment_bytes_;
  int64_t flush_ms_;
  int fd_ = -1;
  uint64_t pos_ = 0;
  uint64_t segments_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<int> closed_;
  double oldest_unsynced_ = 0;
  bool stop_ = false;
  std::thread syncer_;
};

/// A batch received and not yet written.
struct received {
  batch_header h;
  size_t slot = 0;
};

/// Checks and stores one batch, then acknowledges it.
void store(int fd, segment_writer& out, const batch_header& h, const char* data) {
  if (actormq::storage::crc32c(data, h.len) != h.crc) {
    std::fprintf(stderr, "actormq-bytes-bench: batch %llu: CRC mismatch\n",
                 static_cast<unsigned long long>(h.seq));
    std::exit(1);
  }
  out.append(data, h.len);
  iovec ack{const_cast<uint64_t*>(&h.seq), sizeof h.seq};
  write_all(fd, &ack, 1);
}

/// The receiver process: returns its exit code.
int run_receiver(int fd, const std::string& dir, uint64_t segment_bytes, int64_t flush_ms,
                 std::vector<std::vector<char>>& bufs, int threads) {
  segment_writer out(dir, segment_bytes, flush_ms);
  const size_t slots = bufs.size();
  if (threads == 1) {
    for (uint64_t i = 0;; ++i) {
      batch_header h;
      if (!read_all(fd, &h, sizeof h)) return 1;
      if (h.len == 0) return 0;
      auto& b = bufs[i % slots];
      if (h.len > b.size() || !read_all(fd, b.data(), h.len)) return 1;
      store(fd, out, h, b.data());
    }
  }
  // Two threads: this one reads, the writer checks, stores and acknowledges.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<received> ready;
  size_t free_slots = slots;
  bool done = false;
  std::thread writer([&] {
    for (;;) {
      received r;
      {
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return !ready.empty() || done; });
        if (ready.empty()) return;
        r = ready.front();
        ready.pop_front();
      }
      store(fd, out, r.h, bufs[r.slot].data());
      {
        std::lock_guard lk(mu);
        ++free_slots;
      }
      cv.notify_all();
    }
  });
  int rc = 0;
  for (uint64_t i = 0;; ++i) {
    batch_header h;
    if (!read_all(fd, &h, sizeof h)) {
      rc = 1;
      break;
    }
    if (h.len == 0) break;
    {
      std::unique_lock lk(mu);
      cv.wait(lk, [&] { return free_slots > 0; });
      --free_slots;
    }
    const size_t slot = i % slots;
    if (h.len > bufs[slot].size() || !read_all(fd, bufs[slot].data(), h.len)) {
      rc = 1;
      break;
    }
    {
      std::lock_guard lk(mu);
      ready.push_back({h, slot});
    }
    cv.notify_all();
  }
  {
    std::lock_guard lk(mu);
    done = true;
  }
  cv.notify_all();
  writer.join();
  return rc;
}

struct options {
  uint64_t count = 2'000'000;
  size_t size = 1024;
  size_t batch_bytes = 1u << 20;
  size_t in_flight = 5;
  int receiver_threads = 2;
  std::string dir = "/tmp/actormq-bytes-bench";
  uint64_t segment_mb = 256;
  int64_t flush_ms = 1000;
};

/// in_flight + 1 batch buffers, allocated and touched (zeroed) before a run
/// starts, so that neither side's timed work faults pages in.
std::vector<std::vector<char>> batch_buffers(const options& opt) {
  return std::vector<std::vector<char>>(opt.in_flight + 1, std::vector<char>(opt.batch_bytes));
}

/// The producer: sends opt.count values and waits for every acknowledgement.
void run_producer(int fd, const options& opt, std::vector<std::vector<char>>& bufs) {
  const size_t slots = bufs.size();
  std::vector<char> value(opt.size, 'v');
  uint64_t seq = 0;
  uint64_t acked = 0;
  size_t fill = 0;
  auto read_ack = [&](bool wait) {
    uint64_t a = 0;
    ssize_t r = 0;
    do {
      r = ::recv(fd, &a, sizeof a, wait ? 0 : MSG_DONTWAIT);
    } while (r < 0 && errno == EINTR);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !wait) return false;
    if (r == static_cast<ssize_t>(sizeof a)) {
      ++acked;
      return true;
    }
    if (r > 0 && read_all(fd, reinterpret_cast<char*>(&a) + r, sizeof a - static_cast<size_t>(r))) {
      ++acked;
      return true;
    }
    die("reading an acknowledgement");
  };
  auto seal = [&] {
    if (fill == 0) return;
    auto& b = bufs[seq % slots];
    batch_header h{seq, static_cast<uint32_t>(fill), actormq::storage::crc32c(b.data(), fill)};
    while (seq - acked >= opt.in_flight) read_ack(true);
    iovec iov[2] = {{&h, sizeof h}, {b.data(), fill}};
    write_all(fd, iov, 2);
    ++seq;
    fill = 0;
    while (seq > acked && read_ack(false)) {
    }
  };
  for (uint64_t i = 0; i < opt.count; ++i) {
    if (fill + length_bytes + opt.size > opt.batch_bytes) seal();
    char* p = bufs[seq % slots].data() + fill;
    const auto len = static_cast<uint32_t>(opt.size);
    std::memcpy(p, &len, length_bytes);
    std::memcpy(value.data(), &i, std::min(sizeof i, value.size()));
    std::memcpy(p + length_bytes, value.data(), opt.size);
    fill += length_bytes + opt.size;
  }
  seal();
  while (acked < seq) read_ack(true);
  batch_header end;
  iovec iov{&end, sizeof end};
  write_all(fd, &iov, 1);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ActorMQ: the floor of W2's bytes (copy, CRC, loopback TCP, page cache)"};
  options opt;
  app.add_option("--count", opt.count, "values sent")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--size", opt.size, "bytes a value")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--batch-bytes", opt.batch_bytes, "bytes a batch")
      ->capture_default_str()
      ->check(CLI::Range(size_t{64}, size_t{64} << 20));
  app.add_option("--in-flight", opt.in_flight, "batches unacknowledged")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--receiver-threads", opt.receiver_threads, "1: read and store on one thread")
      ->capture_default_str()
      ->check(CLI::Range(1, 2));
  app.add_option("--dir", opt.dir,
                 "where the run's own directory of segment files is made (and deleted)")
      ->capture_default_str();
  app.add_option("--segment-mb", opt.segment_mb, "MiB a segment file")
      ->capture_default_str()
      ->check(CLI::Range(1, 4095));
  app.add_option("--flush-ms", opt.flush_ms,
                 "sync closed segments at once and the active one when its data is this old "
                 "(the broker's default flush_ms); 0: no sync")
      ->capture_default_str()
      ->check(CLI::Range(0, 3'600'000));
  CLI11_PARSE(app, argc, argv);
  if (opt.batch_bytes < opt.size + length_bytes) {
    return std::fprintf(stderr, "--batch-bytes: less than one value\n"), 2;
  }
  // A peer gone shows as an error of the write, not as SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);

  // The run's own directory under --dir: only it is deleted.
  std::error_code ec;
  std::filesystem::create_directories(opt.dir, ec);
  std::string run_dir = opt.dir + "/run.XXXXXX";
  if (ec || ::mkdtemp(run_dir.data()) == nullptr) {
    return std::fprintf(stderr, "%s: %s\n", opt.dir.c_str(),
                        ec ? ec.message().c_str() : std::strerror(errno)),
           2;
  }

  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof addr;
  if (lfd < 0 || ::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(lfd, 1) != 0 || ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &alen) != 0) {
    die("listen on 127.0.0.1");
  }
  const int one = 1;
  pid_t child = ::fork();
  if (child < 0) die("fork");
  if (child == 0) {
    auto bufs = batch_buffers(opt);  // each process its own: no copy-on-write faults
    int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) die("accept");
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::_Exit(
        run_receiver(fd, run_dir, opt.segment_mb << 20, opt.flush_ms, bufs, opt.receiver_threads));
  }
  ::close(lfd);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("connect");
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  auto bufs = batch_buffers(opt);
  const auto u0 = actormq::bench::self_usage();
  const double t0 = now_s();
  run_producer(fd, opt, bufs);
  const double secs = now_s() - t0;
  const auto u1 = actormq::bench::self_usage();
  ::close(fd);
  int status = 0;
  rusage cru{};
  if (::wait4(child, &status, 0, &cru) != child) die("wait4");
  std::filesystem::remove_all(run_dir, ec);
  if (WIFSIGNALED(status)) {
    std::fprintf(stderr, "actormq-bytes-bench: the receiver died of signal %d\n", WTERMSIG(status));
    return 1;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "actormq-bytes-bench: the receiver failed (exit %d)\n",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 1;
  }
  const auto rcv = actormq::bench::usage_of(cru);

  const auto n = static_cast<double>(opt.count);
  const double pcpu = u1.cpu_s - u0.cpu_s;
  std::printf(
      "peer=floor workload=W2 msgs=%llu size=%zu batch_bytes=%zu in_flight=%zu "
      "receiver_threads=%d flush_ms=%lld secs=%.3f msgs_per_s=%.0f mb_per_s=%.2f "
      "producer_cpu_pct=%.0f "
      "receiver_cpu_pct=%.0f producer_us_per_msg=%.3f receiver_us_per_msg=%.3f "
      "producer_ctx_per_msg=%.4f receiver_ctx_per_msg=%.4f\n",
      static_cast<unsigned long long>(opt.count), opt.size, opt.batch_bytes, opt.in_flight,
      opt.receiver_threads, static_cast<long long>(opt.flush_ms), secs, n / secs,
      n * static_cast<double>(opt.size) / secs / 1e6, pcpu / secs * 100, rcv.cpu_s / secs * 100,
      pcpu / n * 1e6, rcv.cpu_s / n * 1e6, static_cast<double>(u1.switches - u0.switches) / n,
      static_cast<double>(rcv.switches) / n);
  return 0;
}
