// actormq-storage-bench: append and read-back throughput of storage::log.
//
// Each batch is built once with record_batch_builder and the same bytes are
// appended over and over (the log rewrites base_offset in place, outside the
// CRC), so the figures measure the log — validation, CRC, pwrite, index,
// flush policy, segment rolls — not the record encoder.
//
// Workloads (one output line per run, key=value as in ../shared/bench):
//   append_<size>_flush_never   flush_policy::never(), no fsync in the loop; the
//                               segments a roll closes are synced by a second
//                               thread meanwhile, as the broker's flusher does
//   append_<size>_flush_10ms    flush_policy{every_ms=10}, maybe_flush() before each append
//   append_<size>_fsync_every   flush_policy::every_append(): one fdatasync per append
//   read_<size>_pread           log::read slices, pread into a buffer
//   read_<size>_sendfile        log::read slices, sendfile into a socketpair drained by a thread
//   read_<size>_reopened_sendfile  the same after a close and a reopen: the
//                               closed segments' batches are CRC-checked on
//                               their first read (docs/storage-format.md)
// with <size> 100b or 1k. Reads go over the log the flush_never run just wrote
// (page cache warm). Every run is bounded by bytes and by --max-secs.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "storage/bench/bench_support.h"
#include "storage/log.h"
#include "storage/logger.h"
#include "storage/record_batch_builder.h"

namespace {

namespace fs = std::filesystem;
namespace st = actormq::storage;
using namespace actormq::bench;

struct options {
  fs::path dir = "/tmp/actormq-storage-bench";
  uint64_t total_mb = 2048;       ///< per flush_never / flush_10ms run
  uint64_t fsync_total_mb = 256;  ///< per fsync_every run
  int records_100b = 1000;        ///< records per batch, 100-byte values
  int records_1k = 256;           ///< records per batch, 1 KiB values
  uint64_t prewarm_mb = 0;        ///< fault in and free this much before each run
  double max_secs = 60;           ///< wall-clock bound of each run
  int repeat = 1;
  uint64_t segment_mb = st::log_config{}.segment_bytes >> 20;
  uint64_t read_max_kb = 1024;  ///< max_bytes of each log::read
  bool validate_records = st::log_config{}.validate_records;
  std::vector<std::string> only;  ///< workload filter (empty = all)
};

enum class flush_mode { never, every_10ms, every_append };

// ---------------------------------------------------------------- measuring

struct run_figures {
  uint64_t msgs = 0;
  uint64_t payload_bytes = 0;  ///< record values only
  uint64_t log_bytes = 0;      ///< whole batches through the log (what reaches the file)
  uint64_t calls = 0;          ///< appends or reads
  uint64_t flushes = 0;
  uint64_t closed_syncs = 0;    ///< syncs of closed segments by the background thread
  double closed_sync_secs = 0;  ///< time those took (on that thread)
  double secs = 0;
  bool hit_deadline = false;
  cpu_usage cpu;
  int pre_busy_pct = 0;
  uint64_t prewarm_mb = 0;
  double prewarm_mb_per_s = 0;  ///< first-touch rate seen by the prewarm
};

void print_line(const options& opt, const std::string& workload, const run_figures& f,
                size_t batch_bytes, int records_per_batch, const std::string& extra) {
  double secs = f.secs > 0 ? f.secs : 1e-9;
  std::printf(
      "peer=actormq-storage workload=%s msgs=%llu secs=%.3f msgs_per_s=%.0f mb_per_s=%.2f "
      "log_mb_per_s=%.2f batch_bytes=%zu records_per_batch=%d calls=%llu flushes=%llu "
      "bytes=%llu stopped=%s cpu_self_pct=%.0f cpu_other_pct=%.0f segment_mb=%llu %s"
      "closed_syncs=%llu closed_sync_secs=%.3f pre_busy_pct=%d prewarm_mb=%llu "
      "prewarm_touch_mb_per_s=%.0f\n",
      workload.c_str(), static_cast<unsigned long long>(f.msgs), f.secs,
      static_cast<double>(f.msgs) / secs, static_cast<double>(f.payload_bytes) / 1e6 / secs,
      static_cast<double>(f.log_bytes) / 1e6 / secs, batch_bytes, records_per_batch,
      static_cast<unsigned long long>(f.calls), static_cast<unsigned long long>(f.flushes),
      static_cast<unsigned long long>(f.log_bytes), f.hit_deadline ? "deadline" : "bytes",
      f.cpu.self_pct, f.cpu.other_pct, static_cast<unsigned long long>(opt.segment_mb),
      extra.c_str(), static_cast<unsigned long long>(f.closed_syncs), f.closed_sync_secs,
      f.pre_busy_pct, static_cast<unsigned long long>(f.prewarm_mb), f.prewarm_mb_per_s);
  std::fflush(stdout);
}

[[noreturn]] void die(const char* what, std::error_code ec) {
  std::fprintf(stderr, "actormq-storage-bench: %s: %s\n", what, ec.message().c_str());
  std::exit(1);
}

// ---------------------------------------------------------------- workloads

st::log_config make_config(const options& opt, flush_mode mode) {
  st::log_config cfg;
  cfg.segment_bytes = opt.segment_mb << 20;
  cfg.retention_ms = -1;
  cfg.validate_records = opt.validate_records;
  switch (mode) {
    case flush_mode::never:
      cfg.flush = st::flush_policy::never();
      break;
    case flush_mode::every_10ms:
      cfg.flush = st::flush_policy{0, 10};
      break;
    case flush_mode::every_append:
      cfg.flush = st::flush_policy::every_append();
      break;
  }
  return cfg;
}

/// The broker's flusher in small: syncs the segments a roll closed on a
/// thread of its own (storage::sync_plan) while the appends go on.
class closed_segment_syncer {
 public:
  ~closed_segment_syncer() {
    if (thread_.joinable()) thread_.join();
  }
  /// After each append: takes a finished sync's result, starts the next one
  /// when a closed segment waits.
  void poll(st::log& log, run_figures& f) {
    if (running_ && done_.load(std::memory_order_acquire)) collect(log, f);
    if (!running_ && log.closed_unsynced()) {
      plan_ = log.sync_target();
      running_ = true;
      done_.store(false, std::memory_order_relaxed);
      thread_ = std::thread([this] {
        auto t0 = clock_type::now();
        status_ = plan_.run();
        took_ = std::chrono::duration<double>(clock_type::now() - t0).count();
        done_.store(true, std::memory_order_release);
      });
    }
  }
  /// Waits for the sync in flight (outside the timed part).
  void finish(st::log& log, run_figures& f) {
    if (running_) collect(log, f);
  }

 private:
  void collect(st::log& log, run_figures& f) {
    thread_.join();
    running_ = false;
    if (!status_) die("sync of closed segments", status_.error());
    log.mark_flushed(plan_.ticket());
    ++f.closed_syncs;
    f.closed_sync_secs += took_;
  }

  st::sync_plan plan_;
  st::status status_;
  double took_ = 0;
  bool running_ = false;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

run_figures run_append(st::log& log, std::vector<uint8_t>& batch, const record_kind& k,
                       uint64_t total_bytes, double max_secs, flush_mode mode) {
  run_figures f;
  closed_segment_syncer syncer;
  auto deadline = clock_type::now() + std::chrono::duration<double>(max_secs);
  auto before = cpu_snapshot::take();
  while (f.log_bytes + batch.size() <= total_bytes) {
    if (mode == flush_mode::every_10ms) {
      auto flushed = log.flushed_offset();
      if (auto s = log.maybe_flush(); !s) die("maybe_flush", s.error());
      if (log.flushed_offset() != flushed) ++f.flushes;
    }
    auto r = log.append(batch);
    if (!r) die("append", r.error());
    if (r->flushed) ++f.flushes;
    if (mode == flush_mode::never) syncer.poll(log, f);
    f.msgs += static_cast<uint64_t>(k.records_per_batch);
    f.payload_bytes += static_cast<uint64_t>(k.records_per_batch) * k.value_bytes;
    f.log_bytes += batch.size();
    ++f.calls;
    // Checking the clock every 16 appends keeps it out of the profile.
    if ((f.calls & 15) == 0 && clock_type::now() >= deadline) {
      f.hit_deadline = true;
      break;
    }
  }
  auto after = cpu_snapshot::take();
  f.secs = std::chrono::duration<double>(after.wall - before.wall).count();
  f.cpu = usage_between(before, after);
  syncer.finish(log, f);
  return f;
}

enum class read_mode { pread, sendfile };

run_figures run_read(const st::log& log, const record_kind& k, uint64_t max_bytes, double max_secs,
                     read_mode mode) {
  run_figures f;
  std::vector<uint8_t> buf(max_bytes);
  int sv[2] = {-1, -1};
  std::thread drain;
  uint64_t drained = 0;
  if (mode == read_mode::sendfile) {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      die("socketpair", std::error_code(errno, std::generic_category()));
    }
    int sz = 4 << 20;
    ::setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    ::setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    drain = std::thread([fd = sv[1], &drained] {
      std::vector<char> sink(1 << 20);
      while (true) {
        ssize_t n = ::read(fd, sink.data(), sink.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        drained += static_cast<uint64_t>(n);
      }
    });
  }
  auto deadline = clock_type::now() + std::chrono::duration<double>(max_secs);
  auto before = cpu_snapshot::take();
  auto o = log.log_start_offset();
  const auto end = log.next_offset();
  while (o < end) {
    auto slice = log.read(o, max_bytes);
    if (!slice) die("read", slice.error());
    if (slice->length == 0) break;
    if (mode == read_mode::pread) {
      if (slice->length > buf.size()) buf.resize(slice->length);
      auto s = slice->file->read_at(slice->position, {buf.data(), slice->length});
      if (!s) die("pread", s.error());
    } else {
      off_t at = static_cast<off_t>(slice->position());
      uint64_t left = slice->length;
      while (left > 0) {
        ssize_t n = ::sendfile(sv[0], slice->file->fd(), &at, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) die("sendfile", std::error_code(errno, std::generic_category()));
        left -= static_cast<uint64_t>(n);
      }
    }
    f.msgs += static_cast<uint64_t>(slice->next_offset() - slice->first_offset());
    f.log_bytes += slice->length;
    ++f.calls;
    o = slice->next_offset;
    if ((f.calls & 15) == 0 && clock_type::now() >= deadline) {
      f.hit_deadline = true;
      break;
    }
  }
  if (mode == read_mode::sendfile) {
    ::shutdown(sv[0], SHUT_WR);
    drain.join();
    ::close(sv[0]);
    ::close(sv[1]);
    if (drained != f.log_bytes) {
      std::fprintf(stderr, "actormq-storage-bench: drained %llu of %llu bytes\n",
                   static_cast<unsigned long long>(drained),
                   static_cast<unsigned long long>(f.log_bytes));
      std::exit(1);
    }
  }
  auto after = cpu_snapshot::take();
  f.secs = std::chrono::duration<double>(after.wall - before.wall).count();
  f.cpu = usage_between(before, after);
  f.payload_bytes = f.msgs * k.value_bytes;
  return f;
}

bool wanted(const options& opt, const std::string& workload) {
  return opt.only.empty() ||
         std::find(opt.only.begin(), opt.only.end(), workload) != opt.only.end();
}

void remove_dir(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) die("remove data dir", ec);
  ::sync();  // settle writeback of the previous run before the next one starts
}

void run_kind(const options& opt, const record_kind& k) {
  auto batch = build_batch(k);
  const std::string size = k.name;
  const fs::path dir = opt.dir / ("log-" + size);
  struct append_run {
    flush_mode mode;
    const char* suffix;
    uint64_t total_mb;
  };
  const append_run appends[] = {{flush_mode::never, "flush_never", opt.total_mb},
                                {flush_mode::every_10ms, "flush_10ms", opt.total_mb},
                                {flush_mode::every_append, "fsync_every", opt.fsync_total_mb}};
  const std::string read_pread = "read_" + size + "_pread";
  const std::string read_sendfile = "read_" + size + "_sendfile";
  const std::string read_reopened = "read_" + size + "_reopened_sendfile";
  for (const auto& a : appends) {
    const std::string workload = "append_" + size + "_" + a.suffix;
    bool reads =
        a.mode == flush_mode::never &&
        (wanted(opt, read_pread) || wanted(opt, read_sendfile) || wanted(opt, read_reopened));
    if (!wanted(opt, workload) && !reads) continue;
    remove_dir(dir);
    auto log = st::log::open(dir, make_config(opt, a.mode));
    if (!log) die("open log", log.error());
    int busy = pre_busy_pct();
    double touch = prewarm(opt.prewarm_mb);
    auto f = run_append(**log, batch, k, a.total_mb << 20, opt.max_secs, a.mode);
    f.pre_busy_pct = busy;
    f.prewarm_mb = opt.prewarm_mb;
    f.prewarm_mb_per_s = touch;
    if (wanted(opt, workload)) {
      print_line(opt, workload, f, batch.size(), k.records_per_batch,
                 "segments=" + std::to_string((*log)->segment_count()) + " ");
    }
    if (reads) {
      const std::pair<read_mode, const std::string*> rs[] = {{read_mode::pread, &read_pread},
                                                             {read_mode::sendfile, &read_sendfile}};
      for (auto [mode, name] : rs) {
        if (!wanted(opt, *name)) continue;
        // No prewarm: a read allocates no page cache (the log is cached already).
        busy = pre_busy_pct();
        auto r = run_read(**log, k, opt.read_max_kb << 10, opt.max_secs, mode);
        r.pre_busy_pct = busy;
        print_line(opt, *name, r, batch.size(), k.records_per_batch,
                   "read_max_kb=" + std::to_string(opt.read_max_kb) + " ");
      }
    }
    if (auto s = (*log)->close(); !s) die("close", s.error());
    if (reads && wanted(opt, read_reopened)) {
      log->reset();
      auto again = st::log::open(dir, make_config(opt, a.mode));
      if (!again) die("reopen log", again.error());
      busy = pre_busy_pct();
      auto r = run_read(**again, k, opt.read_max_kb << 10, opt.max_secs, read_mode::sendfile);
      r.pre_busy_pct = busy;
      print_line(opt, read_reopened, r, batch.size(), k.records_per_batch,
                 "read_max_kb=" + std::to_string(opt.read_max_kb) + " ");
      if (auto s = (*again)->close(); !s) die("close", s.error());
    }
  }
  remove_dir(dir);
}

}  // namespace

int main(int argc, char** argv) {
  options opt;
  CLI::App app{"actormq-storage-bench: append/read throughput of storage::log"};
  std::string dir = opt.dir.string();
  app.add_option("--dir", dir, "data directory (its log-* subdirectories are deleted)")
      ->capture_default_str();
  app.add_option("--total-mb", opt.total_mb, "MiB appended per flush_never/flush_10ms run")
      ->capture_default_str();
  app.add_option("--fsync-total-mb", opt.fsync_total_mb, "MiB appended per fsync_every run")
      ->capture_default_str();
  app.add_option("--records-100b", opt.records_100b, "records per batch, 100-byte records")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--records-1k", opt.records_1k, "records per batch, 1 KiB records")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 16));
  app.add_option("--prewarm-mb", opt.prewarm_mb,
                 "fault in and free this much memory right before each run")
      ->capture_default_str();
  app.add_option("--max-secs", opt.max_secs, "wall-clock bound of each run")->capture_default_str();
  app.add_option("--repeat", opt.repeat, "repetitions of every workload")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--segment-mb", opt.segment_mb, "log_config::segment_bytes in MiB")
      ->capture_default_str()
      ->check(CLI::Range(1, 4095));
  app.add_option("--read-max-kb", opt.read_max_kb, "max_bytes of each log::read, KiB")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--validate-records", opt.validate_records,
                 "log_config::validate_records (parse every record on append)")
      ->capture_default_str();
  app.add_option("--only", opt.only,
                 "workloads to run, e.g. append_1k_flush_never read_1k_pread (default: all)");
  bool prewarm_only = false;
  app.add_flag("--prewarm-only", prewarm_only,
               "only prewarm (--prewarm-mb) and exit: the same warm-up before a fio run");
  CLI11_PARSE(app, argc, argv);
  opt.dir = dir;
  st::logger().set_level(spdlog::level::warn);  // keep "opened log" lines out of the output

  if (prewarm_only) {
    double touch = prewarm(opt.prewarm_mb);
    std::printf("prewarm_mb=%llu prewarm_touch_mb_per_s=%.0f\n",
                static_cast<unsigned long long>(opt.prewarm_mb), touch);
    return 0;
  }
  const record_kind kinds[] = {{"100b", 100, opt.records_100b}, {"1k", 1024, opt.records_1k}};
  for (int rep = 0; rep < opt.repeat; ++rep) {
    for (const auto& k : kinds) run_kind(opt, k);
  }
  return 0;
}
