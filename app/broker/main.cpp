// actormq-broker [--config FILE] [--data-dir DIR] [--listen HOST:PORT]
// Starts the broker; once ready to serve it prints "listening on HOST:PORT"
// on stdout. SIGINT/SIGTERM shut it down cleanly (logs flushed and closed).

#include <kj/async-unix.h>
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "actors/logger.h"
#include "app/broker/broker_config.h"
#include "app/broker/broker_run.h"
#include "app/broker/logger.h"
#include "app/etcd/etcd_client.h"
#include "app/etcd/logger.h"
#include "storage/logger.h"

using namespace actormq;
using namespace actormq::broker;

namespace {

/// Fixed glibc malloc thresholds instead of its dynamic ones. Every produce
/// copies its batch (up to max_batch_bytes, 16 MiB by default; 1 MiB from
/// the usual producer) into a fresh buffer that another thread frees after
/// the append. With the dynamic thresholds, whether that free trims the
/// main heap (brk down, then the next batch faults every page back in)
/// depends on what else sits at the heap's top: one broker of a cluster
/// made 150 brk calls a second and produced 75k msgs/s of 1 KiB where its
/// peers made none and did 370k (docs/benchmarks.md, "The metadata path").
/// Batches now always come from the heap (below the 32 MiB mmap threshold,
/// glibc's maximum) and up to 64 MiB of free heap top is kept for reuse.
void configure_allocator() {
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

/// Descriptors: the soft limit is raised to the hard one (a shell's soft
/// limit is often 1024, below max_connections plus the partitions' files);
/// a warning when max_connections cannot fit.
void raise_fd_limit(const broker_config& cfg) {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return;
  if (r.rlim_cur < r.rlim_max) {
    rlimit up = r;
    up.rlim_cur = r.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &up) == 0) r = up;
  }
  broker_log().info("descriptors: up to {} (RLIMIT_NOFILE)", static_cast<uint64_t>(r.rlim_cur));
  constexpr uint64_t reserve = 256;  // listeners, logs, the coordinators' files
  if (uint64_t{cfg.max_connections} + reserve > r.rlim_cur) {
    broker_log().warn(
        "max_connections {} and about {} other descriptors exceed the limit of {}: accepts will "
        "back off when descriptors run out (raise the limit, e.g. LimitNOFILE= in a systemd unit)",
        cfg.max_connections, reserve, static_cast<uint64_t>(r.rlim_cur));
  }
}

}  // namespace

int main(int argc, char** argv) {
  configure_allocator();
  CLI::App app{"ActorMQ broker"};
  std::string config_file, data_dir, listen, log_level;
  std::string cluster_id, etcd_urls, cluster_listen;
  int32_t broker_id = -1;
  app.add_option("--config", config_file, "TOML config file (see config/actormq.toml)");
  app.add_option("--data-dir", data_dir, "directory for topics, offsets and state");
  app.add_option("--listen", listen, "HOST:PORT for RPC (port 0 picks a free one)");
  std::string http_listen;
  app.add_option("--http", http_listen,
                 "HOST:PORT of the inspector's web page and /metrics (off by default; port 0 "
                 "picks a free one)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error");
  app.add_option("--cluster-id", cluster_id, "join this cluster (with --broker-id and --etcd)");
  app.add_option("--broker-id", broker_id, "this broker's id in the cluster (0 or more, unique)");
  app.add_option("--etcd", etcd_urls, "etcd endpoints: http://HOST:PORT[,http://HOST:PORT...]");
  app.add_option("--cluster-listen", cluster_listen,
                 "HOST:PORT of this broker's port for the other brokers (port 0 picks one)");
  CLI11_PARSE(app, argc, argv);

  broker_config cfg;
  if (!config_file.empty()) {
    if (auto err = load_config_file(config_file, cfg)) {
      std::cerr << "actormq-broker: " << *err << "\n";
      return 2;
    }
  }
  if (!data_dir.empty()) cfg.data_dir = data_dir;
  if (!listen.empty()) {
    if (auto err = parse_listen(listen, cfg)) {
      std::cerr << "actormq-broker: --listen: " << *err << "\n";
      return 2;
    }
    // With an ephemeral RPC port, the stream port is ephemeral too.
    if (cfg.listen_port == 0 && cfg.stream_port > 0) cfg.stream_port = 0;
  }
  if (!http_listen.empty()) {
    if (auto err = parse_host_port(http_listen, cfg.http_host, cfg.http_port)) {
      std::cerr << "actormq-broker: --http: " << *err << "\n";
      return 2;
    }
  }
  if (!log_level.empty()) cfg.log_level = log_level;
  if (!cluster_id.empty()) cfg.cluster.cluster_id = cluster_id;
  if (broker_id >= 0) cfg.cluster.broker_id = broker_id;
  if (!etcd_urls.empty()) cfg.cluster.etcd = etcd_urls;
  if (!cluster_listen.empty()) {
    if (auto err =
            parse_host_port(cluster_listen, cfg.cluster.listen_host, cfg.cluster.listen_port)) {
      std::cerr << "actormq-broker: --cluster-listen: " << *err << "\n";
      return 2;
    }
  }
  if (auto err = check_cluster_config(cfg.cluster)) {
    std::cerr << "actormq-broker: " << *err << "\n";
    return 2;
  }
  if (cfg.cluster.enabled()) {
    auto endpoints = etcd::etcd_client::parse_endpoints(cfg.cluster.etcd);
    if (!endpoints) {
      std::cerr << "actormq-broker: --etcd: " << endpoints.err().to_string() << "\n";
      return 2;
    }
  }
  auto level = spdlog::level::from_str(cfg.log_level);
  // Create the module loggers so the level applies to all of them.
  storage::logger();
  actor_log();
  broker_log();
  etcd::etcd_log();
  spdlog::set_level(level);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  raise_fd_limit(cfg);

  // Signals are taken by the KJ loop; capture them before any thread starts
  // so CAF's threads inherit the blocked mask. A peer closing a socket must
  // not kill the broker.
  kj::UnixEventPort::captureSignal(SIGTERM);
  kj::UnixEventPort::captureSignal(SIGINT);
  std::signal(SIGPIPE, SIG_IGN);
  return run_broker(cfg);
}
