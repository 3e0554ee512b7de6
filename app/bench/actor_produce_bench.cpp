// actormq-actor-bench: in-process produce throughput through the PARTITION
// actor, next to raw storage::log appends of the same batches in the same run,
// so the actor layer's overhead reads as one ratio.
//
// Per record size (100b, 1k), on a fresh log each time:
//   raw_append_<size>               log::append in a loop (as actormq-storage-bench
//                                   append_*_flush_never), rotating through as many
//                                   batch buffers as the largest window
//   actor_produce_<size>_w<window>  (produce_atom, produce_request{acks leader})
//                                   requests from one scoped_actor with up to
//                                   <window> outstanding, through a real
//                                   actor_system (scheduler.max-threads
//                                   --threads) and a partition actor over the
//                                   same log config (flush never)
// Both reuse batch buffers (the log writes base_offset in place, outside the
// CRC), so the figures measure appends and messaging, not the encoder. Lines
// follow ../shared/bench: peer=actormq-actors workload=... msgs_per_s=...
// mb_per_s=... (payload bytes); actor lines add overhead_pct against the raw
// line of the same size and repetition. Every run is bounded by bytes and
// by --max-secs.

#include <CLI/CLI.hpp>
#include <caf/all.hpp>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "actors/errc.h"
#include "actors/flush/flusher_actor.h"
#include "actors/logger.h"
#include "actors/partition/partition_actor.h"
#include "actors/topic/topic_config.h"
#include "storage/bench/bench_support.h"
#include "storage/log.h"
#include "storage/logger.h"

namespace {

namespace fs = std::filesystem;
namespace st = actormq::storage;
using namespace actormq::bench;
using actormq::acks_level;
using actormq::partition_actor;
using actormq::produce_reply;
using actormq::produce_request;

struct options {
  fs::path dir = "/tmp/actormq-actor-bench";
  uint64_t total_mb = 1024;  ///< per run
  int records_100b = 1000;   ///< records per batch, 100-byte values (109,994-byte batches)
  int records_1k = 256;      ///< records per batch, 1 KiB values (264,698-byte batches)
  std::vector<size_t> windows{1, 16};
  size_t threads = 2;       ///< CAF scheduler.max-threads
  uint64_t prewarm_mb = 0;  ///< fault in and free this much before each run
  double max_secs = 60;
  int repeat = 1;
  std::vector<std::string> only;  ///< workload filter (empty = all)
};

struct run_figures {
  uint64_t msgs = 0;
  uint64_t payload_bytes = 0;
  uint64_t log_bytes = 0;
  uint64_t calls = 0;
  double secs = 0;
  bool hit_deadline = false;
  cpu_usage cpu;
  int pre_busy_pct = 0;
  double prewarm_mb_per_s = 0;
  double msgs_per_s() const { return static_cast<double>(msgs) / (secs > 0 ? secs : 1e-9); }
};

void print_line(const options& opt, const std::string& workload, const run_figures& f,
                size_t batch_bytes, const record_kind& k, const std::string& extra) {
  double secs = f.secs > 0 ? f.secs : 1e-9;
  std::printf(
      "peer=actormq-actors workload=%s msgs=%llu secs=%.3f msgs_per_s=%.0f mb_per_s=%.2f "
      "log_mb_per_s=%.2f batch_bytes=%zu records_per_batch=%d calls=%llu stopped=%s "
      "cpu_self_pct=%.0f cpu_other_pct=%.0f %spre_busy_pct=%d prewarm_mb=%llu "
      "prewarm_touch_mb_per_s=%.0f\n",
      workload.c_str(), static_cast<unsigned long long>(f.msgs), f.secs, f.msgs_per_s(),
      static_cast<double>(f.payload_bytes) / 1e6 / secs,
      static_cast<double>(f.log_bytes) / 1e6 / secs, batch_bytes, k.records_per_batch,
      static_cast<unsigned long long>(f.calls), f.hit_deadline ? "deadline" : "bytes",
      f.cpu.self_pct, f.cpu.other_pct, extra.c_str(), f.pre_busy_pct,
      static_cast<unsigned long long>(opt.prewarm_mb), f.prewarm_mb_per_s);
  std::fflush(stdout);
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "actormq-actor-bench: %s\n", what.c_str());
  std::exit(1);
}

/// The partition log as the registry opens it, without retention.
st::log_config log_config() {
  auto cfg = actormq::topic_config{}.log_config();
  cfg.retention_ms = -1;
  cfg.retention_bytes = -1;
  return cfg;
}

/// Deletes a run's log right after the run, so its page cache is freed
/// and the next run starts from the same memory state.
void remove_run_dir(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) die("remove " + dir.string() + ": " + ec.message());
}

std::unique_ptr<st::log> open_fresh_log(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) die("remove " + dir.string() + ": " + ec.message());
  ::sync();  // settle writeback of the previous run before this one starts
  auto log = st::log::open(dir, log_config());
  if (!log) die("open log: " + log.error().message());
  return std::move(*log);
}

void count_batch(run_figures& f, const record_kind& k, size_t batch_bytes) {
  f.msgs += static_cast<uint64_t>(k.records_per_batch);
  f.payload_bytes += static_cast<uint64_t>(k.records_per_batch) * k.value_bytes;
  f.log_bytes += batch_bytes;
  ++f.calls;
}

/// Appends copies of batch, rotating through buffers copies as the actor
/// runs rotate through their window's buffers, so both read their batches
/// from the same working set (one hot buffer would flatter the raw figure).
run_figures run_raw(const options& opt, const record_kind& k, const std::vector<uint8_t>& batch,
                    size_t buffers) {
  auto log = open_fresh_log(opt.dir / (std::string("raw-") + k.name));
  std::vector<std::vector<uint8_t>> pool(buffers, batch);
  run_figures f;
  f.pre_busy_pct = pre_busy_pct();
  f.prewarm_mb_per_s = prewarm(opt.prewarm_mb);
  const uint64_t total = opt.total_mb << 20;
  auto deadline = clock_type::now() + std::chrono::duration<double>(opt.max_secs);
  auto before = cpu_snapshot::take();
  while (f.log_bytes + batch.size() <= total) {
    auto r = log->append(pool[f.calls % buffers]);
    if (!r) die("append: " + r.error().message());
    count_batch(f, k, batch.size());
    if ((f.calls & 15) == 0 && clock_type::now() >= deadline) {
      f.hit_deadline = true;
      break;
    }
  }
  auto after = cpu_snapshot::take();
  f.secs = std::chrono::duration<double>(after.wall - before.wall).count();
  f.cpu = usage_between(before, after);
  if (auto s = log->close(); !s) die("close: " + s.error().message());
  remove_run_dir(opt.dir / (std::string("raw-") + k.name));
  return f;
}

run_figures run_actor_system(const options& opt, const record_kind& k,
                             const std::vector<uint8_t>& batch, size_t window) {
  auto log = open_fresh_log(opt.dir / (std::string("actor-") + k.name));
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", opt.threads);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto flusher = actormq::spawn_flusher(sys);
  actormq::partition_settings ps;
  ps.topic = "bench";
  ps.flush = st::flush_policy::never();
  auto partition =
      actormq::spawn_partition(sys, ps, std::shared_ptr<st::log>(std::move(log)), flusher);

  // One buffer per outstanding request: a buffer is reused only after the
  // reply to its previous request arrived.
  std::vector<std::shared_ptr<std::string>> pool;
  for (size_t i = 0; i < window; ++i) {
    pool.push_back(std::make_shared<std::string>(batch.begin(), batch.end()));
  }
  run_figures f;
  {
    caf::scoped_actor self{sys};
    using handle = decltype(self->request(partition, caf::infinite, actormq::produce_atom::value,
                                          produce_request{}));
    std::deque<handle> pending;
    std::string failure;
    auto receive_one = [&] {
      pending.front().receive([&](produce_reply&) { count_batch(f, k, batch.size()); },
                              [&](caf::error& e) { failure = actormq::text_of(e); });
      pending.pop_front();
    };
    f.pre_busy_pct = pre_busy_pct();
    f.prewarm_mb_per_s = prewarm(opt.prewarm_mb);
    const uint64_t total = opt.total_mb << 20;
    const auto timeout = std::chrono::seconds(30);
    auto deadline = clock_type::now() + std::chrono::duration<double>(opt.max_secs);
    auto before = cpu_snapshot::take();
    uint64_t sent = 0;
    while ((sent + 1) * batch.size() <= total && failure.empty()) {
      if (pending.size() >= window) receive_one();
      auto& buf = pool[sent % window];
      pending.push_back(self->request(partition, timeout, actormq::produce_atom::value,
                                      produce_request{buf, acks_level::leader}));
      ++sent;
      if ((sent & 15) == 0 && clock_type::now() >= deadline) {
        f.hit_deadline = true;
        break;
      }
    }
    while (!pending.empty()) receive_one();
    auto after = cpu_snapshot::take();
    f.secs = std::chrono::duration<double>(after.wall - before.wall).count();
    f.cpu = usage_between(before, after);
    if (!failure.empty()) die("produce: " + failure);
  }
  // The partition closes its log when it exits; ~actor_system waits for it.
  caf::anon_send_exit(partition, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(flusher, caf::exit_reason::user_shutdown);
  return f;
}

run_figures run_actor(const options& opt, const record_kind& k, const std::vector<uint8_t>& batch,
                      size_t window) {
  run_figures f = run_actor_system(opt, k, batch, window);
  // ~actor_system has waited for the partition to close its log.
  remove_run_dir(opt.dir / (std::string("actor-") + k.name));
  return f;
}

bool wanted(const options& opt, const std::string& workload) {
  return opt.only.empty() ||
         std::find(opt.only.begin(), opt.only.end(), workload) != opt.only.end();
}

void run_kind(const options& opt, const record_kind& k) {
  auto batch = build_batch(k);
  const std::string raw_name = std::string("raw_append_") + k.name;
  double raw_rate = 0;
  if (wanted(opt, raw_name)) {
    auto raw = run_raw(opt, k, batch, *std::max_element(opt.windows.begin(), opt.windows.end()));
    raw_rate = raw.msgs_per_s();
    print_line(opt, raw_name, raw, batch.size(), k,
               "buffers=" +
                   std::to_string(*std::max_element(opt.windows.begin(), opt.windows.end())) + " ");
  }
  for (size_t w : opt.windows) {
    const std::string name = std::string("actor_produce_") + k.name + "_w" + std::to_string(w);
    if (!wanted(opt, name)) continue;
    auto f = run_actor(opt, k, batch, w);
    std::string extra =
        "window=" + std::to_string(w) + " threads=" + std::to_string(opt.threads) + " ";
    if (raw_rate > 0) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "overhead_pct=%.1f ",
                    100.0 * (1.0 - f.msgs_per_s() / raw_rate));
      extra += buf;
    }
    print_line(opt, name, f, batch.size(), k, extra);
  }
}

}  // namespace

int main(int argc, char** argv) {
  options opt;
  CLI::App app{"actormq-actor-bench: produce throughput through the partition actor vs raw log"};
  std::string dir = opt.dir.string();
  app.add_option("--dir", dir, "data directory (its raw-*/actor-* subdirectories are deleted)")
      ->capture_default_str();
  app.add_option("--total-mb", opt.total_mb, "MiB appended per run")->capture_default_str();
  app.add_option("--records-100b", opt.records_100b, "records per batch, 100-byte records")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--records-1k", opt.records_1k, "records per batch, 1 KiB records")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 16));
  app.add_option("--window", opt.windows, "outstanding produce requests (one run per value)")
      ->capture_default_str();
  app.add_option("--threads", opt.threads, "CAF scheduler threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--prewarm-mb", opt.prewarm_mb,
                 "fault in and free this much memory right before each run")
      ->capture_default_str();
  app.add_option("--max-secs", opt.max_secs, "wall-clock bound of each run")->capture_default_str();
  app.add_option("--repeat", opt.repeat, "repetitions of every workload")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--only", opt.only,
                 "workloads to run, e.g. raw_append_1k actor_produce_1k_w16 (default: all)");
  CLI11_PARSE(app, argc, argv);
  opt.dir = dir;
  for (size_t w : opt.windows) {
    if (w == 0) die("--window must be at least 1");
  }
  st::logger().set_level(spdlog::level::warn);
  actormq::actor_log().set_level(spdlog::level::warn);

  const record_kind kinds[] = {{"100b", 100, opt.records_100b}, {"1k", 1024, opt.records_1k}};
  for (int rep = 0; rep < opt.repeat; ++rep) {
    for (const auto& k : kinds) run_kind(opt, k);
  }
  std::error_code ec;
  fs::remove(opt.dir, ec);
  return 0;
}
