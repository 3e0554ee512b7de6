// actormq-checker: Jepsen-style checks of replication against a real
// cluster it starts itself (docs/replication.md, "Checker").
//
//   actormq-checker [SCENARIO...] [--seed N] [--rounds R] [--bin-dir DIR]
//                   [--delayed N --delay-window-s S ...]   (kill-delay-owner)
//                   [--retry-messages N --retry-window-s S] (kill-retry-owner)
//
// No scenario: all of them. One summary line per scenario on stdout; exit
// status 1 when any scenario lost, diverged or broke a bound, 2 on bad
// arguments.

#include <fmt/format.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <random>

#include "scenario_runner.h"

namespace {

std::filesystem::path self_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::current_path() : exe.parent_path();
}

}  // namespace

int main(int argc, char** argv) {
  using actormq::checker::scenario_runner;
  CLI::App app{"actormq-checker: fault-injection checks of replication on a local cluster"};
  std::vector<std::string> scenarios;
  uint64_t seed = 0;
  int rounds = 10;
  uint32_t partitions = 3;
  int64_t segment_bytes = 0;
  int producers = 3;
  int64_t lease_ttl_ms = 2000;
  int64_t replica_lag_ms = 2000;
  std::string bin_dir;
  std::string work_dir;
  bool keep = false;
  bool verbose = false;
  app.add_option("scenario", scenarios,
                 "kill-leader pause-follower pause-leader kill-two "
                 "etcd-down restart-all kill-coordinator kill-txn-coordinator kill-delay-owner "
                 "kill-retry-owner "
                 "(default: all)");
  app.add_option("--seed", seed, "RNG seed (default: from the clock, printed)");
  app.add_option("--rounds", rounds, "fault rounds per scenario")->check(CLI::Range(1, 1000));
  app.add_option("--partitions", partitions, "partitions of the topic")->check(CLI::Range(1, 64));
  app.add_option("--producers", producers, "producer threads")->check(CLI::Range(1, 64));
  uint32_t max_in_flight = 0;
  app.add_option("--max-in-flight", max_in_flight,
                 "the producers' batches in flight per partition (default: the client's)")
      ->check(CLI::Range(1, 5));
  double send_interval_ms = 5;
  app.add_option("--send-interval-ms", send_interval_ms,
                 "pause between two sends of one producer (default 5; 0: as fast as its 200 "
                 "unacknowledged records allow)")
      ->check(CLI::Range(0.0, 1000.0));
  size_t batch_bytes = 0;
  app.add_option("--batch-bytes", batch_bytes,
                 "the producers' batch_bytes (default: the client's); only full batches are "
                 "pipelined, so with --max-in-flight use a small one (the least is 1024) and "
                 "--send-interval-ms 0 for several batches in flight")
      ->check(CLI::Range(size_t{1}, size_t{1} << 30));
  app.add_option("--segment-bytes", segment_bytes,
                 "segment_bytes of the scenario's topic (default: the broker's)")
      ->check(CLI::Range(int64_t{4096}, int64_t{1} << 31));
  app.add_option("--lease-ttl-ms", lease_ttl_ms, "[cluster].lease_ttl_ms of the brokers");
  actormq::checker::scenario_settings defaults;
  int64_t delayed = defaults.delayed;
  double delay_window_s = defaults.delay_window.count() / 1000.0;
  double delay_lead_s = defaults.delay_lead.count() / 1000.0;
  uint32_t delay_partitions = defaults.delay_partitions;
  int64_t delay_bound_ms = defaults.delay_bound_ms;
  app.add_option("--delayed", delayed, "kill-delay-owner: delayed messages")
      ->check(CLI::Range(int64_t{1}, int64_t{10'000'000}));
  app.add_option("--delay-window-s", delay_window_s,
                 "kill-delay-owner: their due times spread over this window (rounds split it)")
      ->check(CLI::Range(1.0, 3600.0));
  app.add_option("--delay-lead-s", delay_lead_s,
                 "kill-delay-owner: the window starts this long after the first send (time to "
                 "send them all)")
      ->check(CLI::Range(1.0, 3600.0));
  app.add_option("--delay-partitions", delay_partitions,
                 "kill-delay-owner: partitions of the delayed messages' topic")
      ->check(CLI::Range(1, 64));
  app.add_option("--delay-bound-ms", delay_bound_ms,
                 "kill-delay-owner: lateness p99 bound outside failovers and margin over one")
      ->check(CLI::Range(int64_t{1}, int64_t{60000}));
  int64_t retry_messages = defaults.retry_messages;
  double retry_window_s = defaults.retry_window.count() / 1000.0;
  app.add_option("--retry-messages", retry_messages,
                 "kill-retry-owner: values nacked by plan (some until dead-lettered)")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000}));
  app.add_option("--retry-window-s", retry_window_s,
                 "kill-retry-owner: the values are sent over this window (rounds split it)")
      ->check(CLI::Range(1.0, 3600.0));
  std::string broker_log_level = "info";
  app.add_option("--broker-log-level", broker_log_level,
                 "the brokers' --log-level (logs kept with --keep)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  app.add_option("--replica-lag-ms", replica_lag_ms, "[cluster].replica_lag_ms of the brokers");
  app.add_option("--bin-dir", bin_dir,
                 "directory with actormq-broker (default: next to this binary, ../broker)");
  app.add_option("--work-dir", work_dir, "where clusters keep data and logs (default: $TMPDIR)");
  app.add_flag("--keep", keep, "keep the data and logs of passing scenarios too");
  app.add_flag("-v,--verbose", verbose, "progress on stderr");
  CLI11_PARSE(app, argc, argv);

  if (scenarios.empty()) scenarios = scenario_runner::scenario_names();
  for (const auto& s : scenarios) {
    const auto& names = scenario_runner::scenario_names();
    if (std::find(names.begin(), names.end(), s) == names.end()) {
      std::cerr << "unknown scenario " << s << "\n";
      return 2;
    }
  }
  if (seed == 0) seed = std::random_device{}() | 1;
  std::filesystem::path root = work_dir.empty()
                                   ? std::filesystem::temp_directory_path() /
                                         fmt::format("actormq-checker-{}-{}", ::getpid(), seed)
                                   : std::filesystem::path(work_dir);
  bool all_ok = true;
  for (const auto& name : scenarios) {
    actormq::checker::scenario_settings s;
    s.cluster.bin_dir = bin_dir.empty() ? self_dir() : std::filesystem::path(bin_dir);
    s.cluster.work_dir = root / name;
    s.cluster.lease_ttl_ms = lease_ttl_ms;
    s.cluster.broker_log_level = broker_log_level;
    s.cluster.replica_lag_ms = replica_lag_ms;
    s.seed = seed;
    s.rounds = rounds;
    s.partitions = partitions;
    s.segment_bytes = segment_bytes;
    s.producers = producers;
    s.max_in_flight = max_in_flight;
    s.batch_bytes = batch_bytes;
    s.send_interval = std::chrono::microseconds(static_cast<int64_t>(send_interval_ms * 1000));
    s.verbose = verbose;
    s.delayed = delayed;
    s.delay_window = std::chrono::milliseconds(static_cast<int64_t>(delay_window_s * 1000));
    s.delay_lead = std::chrono::milliseconds(static_cast<int64_t>(delay_lead_s * 1000));
    s.delay_partitions = delay_partitions;
    s.delay_bound_ms = delay_bound_ms;
    s.retry_messages = retry_messages;
    s.retry_window = std::chrono::milliseconds(static_cast<int64_t>(retry_window_s * 1000));
    std::error_code ec;
    std::filesystem::remove_all(s.cluster.work_dir, ec);
    auto result = scenario_runner(name, s).run();
    std::cout << result.summary() << std::endl;
    for (const auto& n : result.notes) std::cout << "  note: " << n << "\n";
    for (const auto& f : result.failures) std::cout << "  failure: " << f << "\n";
    for (const auto& p : result.check.problems) std::cout << "  problem: " << p << "\n";
    if (!result.ok()) {
      all_ok = false;
      std::cout << "  data and logs kept in " << s.cluster.work_dir.string() << "\n";
    } else if (!keep) {
      std::filesystem::remove_all(s.cluster.work_dir, ec);
    }
    std::cout << std::flush;
  }
  if (all_ok && !keep) {
    std::error_code ec;
    std::filesystem::remove(root, ec);
  }
  return all_ok ? 0 : 1;
}
