// actormq-broker [--config FILE] [--data-dir DIR] [--listen HOST:PORT]
// Starts the broker; once ready to serve it prints "listening on HOST:PORT"
// on stdout. SIGINT/SIGTERM shut it down cleanly (logs flushed and closed).

#include <kj/async-io.h>
#include <kj/async-unix.h>
#include <caf/all.hpp>

#include <spdlog/spdlog.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "actors/delay/delay_actor.h"
#include "actors/errc.h"
#include "actors/group/group_actor.h"
#include "actors/logger.h"
#include "actors/retry/retry_actor.h"
#include "actors/topic/topic_registry_actor.h"
#include "actors/txn/txn_coordinator_actor.h"
#include "app/broker/broker_config.h"
#include "app/broker/broker_server.h"
#include "app/broker/logger.h"
#include "storage/logger.h"

using namespace actormq;
using namespace actormq::broker;

namespace {

int run(const broker_config& cfg) {
  caf::actor_system_config sys_cfg;
  sys_cfg.set("scheduler.max-threads", static_cast<size_t>(cfg.scheduler_threads));
  if (cfg.scheduler_policy == "stealing") {
    sys_cfg.set("scheduler.policy", caf::atom("stealing"));
  } else {
    sys_cfg.set("scheduler.policy", caf::atom("sharing"));
  }
  sys_cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{sys_cfg};

  registry_settings rs;
  rs.data_dir = cfg.data_dir;
  rs.defaults = cfg.topic_defaults;
  rs.inflight_limit_bytes = cfg.inflight_bytes_per_partition;
  rs.flushers = cfg.flusher_threads;
  // One registry of counters: bounded partitions and the RETRY actor add to it.
  auto metrics = std::make_shared<metrics_registry>();
  rs.metrics = metrics;
  auto registry = spawn_topic_registry(sys, rs);
  if (!registry) {
    std::cerr << "actormq-broker: " << text_of(registry.error()) << "\n";
    return 1;
  }
  coordinator_settings cs;
  cs.data_dir = cfg.data_dir;
  cs.registry = *registry;
  cs.min_session_timeout_ms = cfg.min_session_timeout_ms;
  cs.max_session_timeout_ms = cfg.max_session_timeout_ms;
  auto coordinator = spawn_group_coordinator(sys, cs);
  if (!coordinator) {
    caf::anon_send(*registry, close_atom::value);
    std::cerr << "actormq-broker: " << text_of(coordinator.error()) << "\n";
    return 1;
  }

  delay_settings ds;
  ds.dir = cfg.data_dir / "delay";
  ds.registry = *registry;
  ds.max_delay = cfg.max_delay;
  ds.segment_bytes = cfg.delay_segment_bytes;
  ds.bucket_width = std::chrono::milliseconds(cfg.delay_bucket_ms);
  auto delay = spawn_delay_actor(sys, ds);
  if (!delay) {
    caf::anon_send(*coordinator, close_atom::value);
    caf::anon_send(*registry, close_atom::value);
    std::cerr << "actormq-broker: " << text_of(delay.error()) << "\n";
    return 1;
  }

  // Retries, dead letters and re-drive; the alert hook runs on its own thread.
  retry_actor_settings rts;
  rts.dir = cfg.data_dir / "retry";
  rts.registry = *registry;
  rts.delay = *delay;
  rts.topic_defaults = cfg.topic_defaults;
  rts.retry = cfg.retry;
  rts.metrics = metrics;
  if (!cfg.alerts.hook.empty()) {
    rts.alerts =
        std::make_shared<retry::alert_hook>(cfg.alerts.hook, cfg.alerts.hook_queue,
                                            std::chrono::milliseconds(cfg.alerts.hook_timeout_ms));
  }
  auto retry = spawn_retry_actor(sys, rts);
  if (!retry) {
    caf::anon_send(*delay, close_atom::value);
    caf::anon_send(*coordinator, close_atom::value);
    caf::anon_send(*registry, close_atom::value);
    std::cerr << "actormq-broker: " << text_of(retry.error()) << "\n";
    return 1;
  }

  txn_settings ts;
  ts.dir = cfg.data_dir / "txn";
  ts.registry = *registry;
  ts.delay = *delay;
  ts.policy = {std::chrono::milliseconds(cfg.txn_timeout_ms),
               std::chrono::milliseconds(cfg.txn_check_interval_ms), cfg.txn_max_checks};
  ts.max_checks_in_flight = cfg.txn_max_checks_in_flight;
  ts.check_timeout = std::chrono::milliseconds(cfg.txn_check_timeout_ms);
  ts.max_open_transactions = cfg.txn_max_open;
  ts.max_batch_bytes = cfg.max_batch_bytes;
  auto txn = spawn_txn_coordinator(sys, ts);
  if (!txn) {
    caf::anon_send(*retry, close_atom::value);
    caf::anon_send(*delay, close_atom::value);
    caf::anon_send(*coordinator, close_atom::value);
    caf::anon_send(*registry, close_atom::value);
    std::cerr << "actormq-broker: " << text_of(txn.error()) << "\n";
    return 1;
  }

  int rc = 0;
  {
    auto io = kj::setupAsyncIo();
    service_context ctx;
    ctx.system = &sys;
    ctx.config = &cfg;
    ctx.registry = caf::actor_cast<caf::actor>(*registry);
    ctx.coordinator = caf::actor_cast<caf::actor>(*coordinator);
    ctx.delay = caf::actor_cast<caf::actor>(*delay);
    ctx.retry = caf::actor_cast<caf::actor>(*retry);
    ctx.txn = caf::actor_cast<caf::actor>(*txn);
    auto server = kj::heap<broker_server>(io, ctx);
    KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() {
                   auto port = server->listen(cfg.listen_host, cfg.listen_port, cfg.stream_port);
                   broker_log().info("data dir {}; fetch stream port {}", cfg.data_dir.string(),
                                     server->stream_port());
                   std::cout << "listening on " << cfg.listen_host << ":" << port << std::endl;
                   auto signal =
                       io.unixEventPort.onSignal(SIGTERM)
                           .exclusiveJoin(io.unixEventPort.onSignal(SIGINT))
                           .then([](siginfo_t sig) {
                             broker_log().info("signal {} received: shutting down", sig.si_signo);
                             return 0;
                           });
                   // A listener that can accept no more clients stops the
                   // broker: a process that looks alive but serves nobody
                   // new is worse than an exit a supervisor sees.
                   auto broken = server->failed().then([](std::string why) {
                     std::cerr << "actormq-broker: " << why << "\n";
                     return 1;
                   });
                   rc = signal.exclusiveJoin(kj::mv(broken)).wait(io.waitScope);
                 })) {
      std::cerr << "actormq-broker: cannot serve on " << cfg.listen_host << ":" << cfg.listen_port
                << ": " << e->getDescription().cStr() << "\n";
      rc = 1;
    }
    // Closing the listeners and connections ends every session first.
    server = nullptr;
  }
  caf::anon_send(*txn, close_atom::value);
  caf::anon_send(*retry, close_atom::value);
  caf::anon_send(*delay, close_atom::value);
  caf::anon_send(*coordinator, close_atom::value);
  caf::anon_send(*registry, close_atom::value);
  // ~actor_system waits until every partition has flushed and closed its log.
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ActorMQ broker"};
  std::string config_file, data_dir, listen, log_level;
  app.add_option("--config", config_file, "TOML config file (see config/actormq.toml)");
  app.add_option("--data-dir", data_dir, "directory for topics, offsets and state");
  app.add_option("--listen", listen, "HOST:PORT for RPC (port 0 picks a free one)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error");
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
  if (!log_level.empty()) cfg.log_level = log_level;
  auto level = spdlog::level::from_str(cfg.log_level);
  // Create the module loggers so the level applies to all of them.
  storage::logger();
  actor_log();
  broker_log();
  spdlog::set_level(level);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");

  // Signals are taken by the KJ loop; capture them before any thread starts
  // so CAF's threads inherit the blocked mask. A peer closing a socket must
  // not kill the broker.
  kj::UnixEventPort::captureSignal(SIGTERM);
  kj::UnixEventPort::captureSignal(SIGINT);
  std::signal(SIGPIPE, SIG_IGN);
  return run(cfg);
}
