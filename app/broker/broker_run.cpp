// The broker: see broker_run.h.

#include <kj/async-io.h>
#include <kj/async-unix.h>
#include <caf/all.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <atomic>
#include <csignal>
#include <iostream>
#include <memory>

#include "actors/cluster/cluster_node.h"
#include "actors/cluster/inspector_actor.h"
#include "actors/cluster/leader_table.h"
#include "actors/cluster/peers_actor.h"
#include "actors/delay/delay_actor.h"
#include "actors/delay/delay_schedule_actor.h"
#include "actors/delay/delay_schedule_record.h"
#include "actors/errc.h"
#include "actors/group/group_actor.h"
#include "actors/inspect/actor_directory.h"
#include "actors/inspect/process_stats.h"
#include "actors/logger.h"
#include "actors/retry/retry_actor.h"
#include "actors/topic/topic_registry_actor.h"
#include "actors/txn/txn_coordinator_actor.h"
#include "actors/txn/txn_state_record.h"
#include "app/broker/broker_run.h"
#include "app/broker/broker_server.h"
#include "app/broker/cluster/control_plane.h"
#include "app/broker/cluster/isr_writer.h"
#include "app/broker/cluster/local_topics.h"
#include "app/broker/cluster/producer_id_allocator.h"
#include "app/broker/cluster/replica_manager.h"
#include "app/broker/http_thread.h"
#include "app/broker/kj_handoff.h"
#include "app/broker/logger.h"
#include "app/broker/rpc_metrics.h"
#include "app/etcd/logger.h"
#include "storage/logger.h"

namespace actormq::broker {

namespace {

/// The other brokers' NODE addresses, for the PEERS actor.
std::vector<peer_address> peers_of(const cluster::cluster_view& view) {
  std::vector<peer_address> out;
  for (auto& [id, reg] : view.brokers()) {
    peer_address a;
    a.broker_id = id;
    if (parse_host_port(reg.cluster_address, a.host, a.port)) continue;  // none published
    out.push_back(std::move(a));
  }
  return out;
}

/// The cross-thread stop of broker_run_hooks::on_listening: fires once.
class stop_handle {
 public:
  explicit stop_handle(kj::Own<kj::CrossThreadPromiseFulfiller<void>> f) : fulfiller_(kj::mv(f)) {}
  void fire() {
    if (!fired_.exchange(true)) fulfiller_->fulfill();
  }

 private:
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> fulfiller_;
  std::atomic<bool> fired_{false};
};

}  // namespace

int run_broker(const broker_config& cfg, const broker_run_hooks& hooks) {
  caf::actor_system_config sys_cfg;
  sys_cfg.set("scheduler.max-threads", static_cast<size_t>(cfg.scheduler_threads));
  if (cfg.scheduler_policy == "stealing") {
    sys_cfg.set("scheduler.policy", caf::atom("stealing"));
  } else {
    sys_cfg.set("scheduler.policy", caf::atom("sharing"));
  }
  sys_cfg.set("logger.verbosity", caf::atom("quiet"));
  if (cfg.cluster.enabled()) {
    // Brokers talk to each other over CAF's middleman; a single broker
    // does not load it.
    cluster_settings mm;
    mm.cluster_id = cfg.cluster.cluster_id;
    mm.heartbeat_interval = std::chrono::milliseconds(cfg.cluster.heartbeat_ms);
    mm.connection_timeout = std::chrono::milliseconds(cfg.cluster.connection_timeout_ms);
    configure_middleman(sys_cfg, mm);
  }
  caf::actor_system sys{sys_cfg};

  registry_settings rs;
  rs.data_dir = cfg.data_dir;
  rs.defaults = cfg.topic_defaults;
  rs.inflight_limit_bytes = cfg.inflight_bytes_per_partition;
  rs.flushers = cfg.flusher_threads;
  // One registry of counters: bounded partitions and the RETRY actor add to it.
  auto metrics = std::make_shared<metrics_registry>();
  rs.metrics = metrics;
  // The actor inspector's directory: every actor it shows (docs/inspector.md).
  auto directory = std::make_shared<actor_directory>();
  rs.directory = directory;
  // Cluster mode: leaders of replicated partitions write in-sync-set changes
  // through this actor; its etcd side is attached once the control plane runs.
  auto isr_binding = std::make_shared<isr_writer_binding>();
  isr_writer_actor isr_writer;
  if (cfg.cluster.enabled()) {
    isr_writer = spawn_isr_writer(sys, isr_binding);
    rs.isr_writer = isr_writer;
  }
  auto registry = spawn_topic_registry(sys, rs);
  if (!registry) {
    std::cerr << "actormq-broker: " << text_of(registry.error()) << "\n";
    return 1;
  }
  enlist(directory, *registry, "topic-registry", "topic_registry");
  // In a cluster: who leads each partition (the KJ thread sets it on every
  // view change), for the coordinators' writes and the groups' lag, and the
  // PEERS actor that reaches the other brokers; it crash-reports a peer to
  // the control plane through gone_peers, which revokes its lease.
  auto leaders = cfg.cluster.enabled() ? std::make_shared<cluster::leader_table>() : nullptr;
  auto gone_peers = std::make_shared<kj_handoff<int32_t, uint64_t>>();
  peers_actor peers;
  if (cfg.cluster.enabled()) {
    peers_settings ps;
    ps.broker_id = cfg.cluster.broker_id;
    ps.cluster_id = cfg.cluster.cluster_id;
    ps.on_gone = [gone_peers](int32_t broker, uint64_t incarnation) {
      gone_peers->post(broker, incarnation);
    };
    peers = spawn_peers(sys, ps);
    enlist(directory, peers, "peers", "peers");
  }
  // ~actor_system waits for every actor: PEERS must be told to go on every
  // way out of main, early errors included.
  struct stop_on_exit {
    peers_actor p;
    ~stop_on_exit() {
      if (p) caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
    }
  } peers_exit{peers};
  // In a cluster the group coordinators assign from every topic's partition
  // count, which the control plane keeps current (set on every view change).
  auto cluster_topics = cfg.cluster.enabled() ? std::make_shared<group::topic_counts>() : nullptr;
  // The [alerts] hook: dead letters (RETRY) and lag alerts (every GROUP).
  std::shared_ptr<retry::alert_hook> alerts;
  if (!cfg.alerts.hook.empty()) {
    alerts =
        std::make_shared<retry::alert_hook>(cfg.alerts.hook, cfg.alerts.hook_queue,
                                            std::chrono::milliseconds(cfg.alerts.hook_timeout_ms));
  }
  coordinator_settings cs;
  cs.data_dir = cfg.data_dir;
  cs.registry = *registry;
  cs.cluster_topics = cluster_topics;
  cs.leaders = leaders;
  cs.peers = peers;
  cs.broker_id = cfg.cluster.broker_id;
  cs.state_partitions = cfg.offsets_partitions;
  cs.replicated = cfg.cluster.enabled();
  cs.compact_min_records = cfg.offsets_compact_min_records;
  cs.compact_interval = std::chrono::milliseconds(cfg.offsets_compact_interval_ms);
  cs.min_session_timeout_ms = cfg.min_session_timeout_ms;
  cs.max_session_timeout_ms = cfg.max_session_timeout_ms;
  cs.directory = directory;
  cs.lag_alerts = cfg.lag_alerts;
  cs.alerts = alerts;
  auto coordinator = spawn_group_coordinator(sys, cs);
  if (!coordinator) {
    caf::anon_send(*registry, close_atom::value);
    std::cerr << "actormq-broker: " << text_of(coordinator.error()) << "\n";
    return 1;
  }

  // Delayed messages (and retries' backoff) go to the internal topic
  // __delay_schedule: replicated in a cluster, one replica alone. The DELAY
  // SCHEDULE actor also moves what a previous release left pending in
  // <data>/delay onto it.
  delay_schedule_settings dss;
  dss.dir = cfg.data_dir / "delay-schedule";
  dss.legacy_dir = cfg.data_dir / "delay";
  dss.registry = *registry;
  dss.writer.registry = *registry;
  if (cfg.cluster.enabled()) {
    dss.writer.leaders = leaders;
    dss.writer.peers = peers;
    dss.writer.broker_id = cfg.cluster.broker_id;
  }
  dss.replicated = cfg.cluster.enabled();
  dss.partitions = cfg.delay_schedule_partitions;
  dss.segment_bytes = static_cast<int64_t>(cfg.delay_segment_bytes);
  dss.bucket_width = std::chrono::milliseconds(cfg.delay_bucket_ms);
  dss.keep_delivered = std::chrono::milliseconds(cfg.delay_keep_delivered_ms);
  dss.keep_delivered_bytes = cfg.delay_keep_delivered_bytes;
  dss.max_delay = cfg.max_delay;
  dss.delay_levels = cfg.delay_levels;
  auto schedule = spawn_delay_schedule_actor(sys, dss);
  delay_actor delay = schedule;
  enlist(directory, *coordinator, "group-coordinator", "group_coordinator");
  enlist(directory, schedule, "delay", "delay_schedule");

  // Retries, dead letters and re-drive; the alert hook runs on its own thread.
  retry_actor_settings rts;
  rts.dir = cfg.data_dir / "retry";
  rts.registry = *registry;
  rts.delay = delay;
  rts.coordinator = *coordinator;
  if (cfg.cluster.enabled()) {
    rts.cluster.leaders = leaders;
    rts.cluster.peers = peers;
    rts.cluster.broker_id = cfg.cluster.broker_id;
    rts.cluster_topics = cluster_topics;
  }
  rts.topic_defaults = cfg.topic_defaults;
  rts.retry = cfg.retry;
  rts.metrics = metrics;
  rts.alerts = alerts;
  auto retry = spawn_retry_actor(sys, rts);
  if (!retry) {
    caf::anon_send(schedule, close_atom::value);
    caf::anon_send(*coordinator, close_atom::value);
    caf::anon_send(*registry, close_atom::value);
    std::cerr << "actormq-broker: " << text_of(retry.error()) << "\n";
    return 1;
  }

  enlist(directory, *retry, "retry", "retry");

  int rc = 0;
  txn_coordinator_actor txn_coord;
  inspector_actor inspector;
  auto rpc_stats = std::make_shared<rpc_metrics>();
  {
    auto io = kj::setupAsyncIo();
    service_context ctx;
    ctx.system = &sys;
    ctx.config = &cfg;
    ctx.registry = caf::actor_cast<caf::actor>(*registry);
    ctx.coordinator = caf::actor_cast<caf::actor>(*coordinator);
    ctx.delay = caf::actor_cast<caf::actor>(delay);
    ctx.retry = caf::actor_cast<caf::actor>(*retry);
    ctx.directory = directory;
    ctx.rpc_stats = rpc_stats;
    std::unique_ptr<control_plane> cluster;
    std::unique_ptr<local_topics> topics_here;
    std::unique_ptr<replica_manager> replicas_here;
    kj::Promise<void> replica_loop = kj::READY_NOW;
    std::unique_ptr<producer_id_allocator> producer_ids;
    if (cfg.cluster.enabled()) {
      control_plane::settings cs;
      cs.cluster = cfg.cluster;
      cs.endpoints = *etcd::etcd_client::parse_endpoints(cfg.cluster.etcd);  // checked in main
      cs.data_dir = cfg.data_dir;
      cluster = std::make_unique<control_plane>(io, cs);
      ctx.cluster = cluster.get();
      producer_id_allocator::settings pis;
      pis.key = cluster->view().keys().producer_id_block();
      pis.broker = cfg.cluster.broker_id;
      pis.block_size = cfg.cluster.producer_id_block;
      pis.floor = producer_id_allocator::local_floor(cfg.data_dir);
      pis.claim_timeout = std::chrono::milliseconds(cfg.cluster.etcd_timeout_ms);
      producer_ids =
          std::make_unique<producer_id_allocator>(cluster->etcd(), cluster->timer(), pis);
      ctx.producer_ids = producer_ids.get();
      ctx.peers = peers;
    }
    // The TRANSACTION COORDINATOR writes committed batches wherever their
    // partition is led: in a cluster through the peers' NODE actors.
    txn_settings ts;
    ts.data_dir = cfg.data_dir;
    ts.registry = *registry;
    ts.delay = delay;
    ts.writer.registry = *registry;
    if (cfg.cluster.enabled()) {
      ts.writer.leaders = leaders;
      ts.writer.peers = ctx.peers;
      ts.writer.broker_id = cfg.cluster.broker_id;
    }
    ts.replicated = cfg.cluster.enabled();
    ts.state_partitions = cfg.txn_state_partitions;
    ts.policy = {std::chrono::milliseconds(cfg.txn_timeout_ms),
                 std::chrono::milliseconds(cfg.txn_check_interval_ms), cfg.txn_max_checks};
    ts.max_checks_in_flight = cfg.txn_max_checks_in_flight;
    ts.delay_levels = cfg.delay_levels;
    ts.check_timeout = std::chrono::milliseconds(cfg.txn_check_timeout_ms);
    ts.max_open_transactions = cfg.txn_max_open;
    ts.max_batch_bytes = cfg.max_batch_bytes;
    ts.compact_min_records = cfg.txn_compact_min_records;
    ts.compact_interval = std::chrono::milliseconds(cfg.txn_compact_interval_ms);
    txn_coord = spawn_txn_coordinator(sys, ts);
    ctx.txn = caf::actor_cast<caf::actor>(txn_coord);
    enlist(directory, txn_coord, "txn", "txn_coordinator");
    std::unique_ptr<http_thread> http;
    uint16_t node_port = 0;
    auto server = kj::heap<broker_server>(io, ctx);
    KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() {
                   auto port = server->listen(cfg.listen_host, cfg.listen_port, cfg.stream_port);
                   broker_log().info("data dir {}; fetch stream port {}", cfg.data_dir.string(),
                                     server->stream_port());
                   inspector_settings is;
                   is.directory = directory;
                   is.broker_id = cluster ? cfg.cluster.broker_id : 0;
                   is.address = fmt::format("{}:{}", cfg.listen_host, port);
                   is.peers = ctx.peers;
                   is.timeout = std::chrono::milliseconds(cfg.inspect_timeout_ms);
                   is.broker_metrics = [metrics, rpc_stats](std::vector<metric_sample>& out) {
                     add_process_metrics(out);
                     rpc_stats->samples(out);
                     for (auto& s : metrics->snapshot()) {
                       std::vector<metric_label> labels;
                       for (auto& [k, v] : s.label_values) labels.push_back({k, v});
                       add_metric(out, s.name, std::move(labels), static_cast<double>(s.value));
                     }
                   };
                   inspector = spawn_inspector(sys, std::move(is));
                   server->set_inspector(caf::actor_cast<caf::actor>(inspector));
                   if (cluster) {
                     auto rpc_address = fmt::format("{}:{}", cfg.listen_host, port);
                     cluster->set_rpc_address(rpc_address);
                     node_settings ns;
                     ns.broker_id = cfg.cluster.broker_id;
                     ns.cluster_id = cfg.cluster.cluster_id;
                     ns.rpc_address = rpc_address;
                     ns.registry = *registry;
                     ns.incarnation = cluster->incarnation();
                     ns.inspector = caf::actor_cast<caf::actor>(inspector);
                     ctx.node = spawn_node(sys, ns);
                     enlist(directory, ctx.node, "node", "node");
                     server->set_node(ctx.node);
                     auto published = publish_node(sys, ctx.node, cfg.cluster.listen_host,
                                                   cfg.cluster.listen_port);
                     if (!published) {
                       std::cerr << "actormq-broker: cannot open the cluster port "
                                 << cfg.cluster.listen_host << ":" << cfg.cluster.listen_port
                                 << ": " << text_of(published.error()) << "\n";
                       rc = 1;
                       return;
                     }
                     node_port = *published;
                     cluster->set_cluster_address(
                         fmt::format("{}:{}", cfg.cluster.listen_host, node_port));
                     if (auto err = cluster->start().wait(io.waitScope)) {
                       std::cerr << "actormq-broker: " << *err << "\n";
                       rc = 1;
                       return;
                     }
                     topics_here = std::make_unique<local_topics>(*cluster, sys, ctx.registry);
                     replica_manager::settings rms;
                     rms.replica_lag = std::chrono::milliseconds(cfg.cluster.replica_lag_ms);
                     rms.fetch_wait = std::chrono::milliseconds(cfg.cluster.replica_fetch_wait_ms);
                     rms.fetch_max_bytes =
                         static_cast<uint32_t>(cfg.cluster.replica_fetch_max_bytes);
                     rms.directory = directory;
                     replicas_here = std::make_unique<replica_manager>(*cluster, sys, *registry,
                                                                       ctx.peers, rms);
                     isr_binding->attach(server->inbox(), [&](isr_change c) {
                       return replicas_here->write_isr(std::move(c));
                     });
                     topics_here->on_created([&] { replicas_here->sync(); });
                     // The group coordinator serves the groups of the
                     // __consumer_offsets partitions led here.
                     replicas_here->on_role([coord = *coordinator, txn_coord, schedule](
                                                const std::string& topic, uint32_t p, uint32_t n,
                                                bool leading, int32_t epoch,
                                                const partition_actor& actor) {
                       caf::actor to;
                       if (topic == group::offsets_topic) {
                         to = caf::actor_cast<caf::actor>(coord);
                       } else if (topic == txn::state_topic) {
                         to = caf::actor_cast<caf::actor>(txn_coord);
                       } else if (topic == delay::schedule_topic) {
                         to = caf::actor_cast<caf::actor>(schedule);
                       } else {
                         return;
                       }
                       if (leading) {
                         caf::anon_send(to, lead_atom::value, p, epoch, actor, n);
                       } else {
                         caf::anon_send(to, follow_atom::value, p);
                       }
                     });
                     cluster->on_lease_lost([&] { replicas_here->step_down_all(); });
                     gone_peers->attach(server->inbox(), [&](int32_t broker, uint64_t inc) {
                       cluster->peer_gone(broker, inc);
                     });
                     replica_loop = replicas_here->run().eagerlyEvaluate([](kj::Exception&& e) {
                       broker_log().error("replication: loop ended: {}", e.getDescription().cStr());
                     });
                     auto publish_topics = [&] {
                       group::topic_metadata counts;
                       for (const auto& [name, tc] : cluster->view().topics()) {
                         counts[name] = static_cast<int32_t>(tc.partitions);
                       }
                       cluster_topics->set(std::move(counts));
                       std::map<cluster::leader_table::key, cluster::broker_id> led;
                       for (const auto& [key, st] : cluster->view().partitions()) {
                         led[key] = st.leader;
                       }
                       leaders->set(std::move(led));
                     };
                     publish_topics();
                     cluster->on_change([&, publish_topics](cluster::cluster_view::change c) {
                       publish_topics();  // cheap; a resync reports one change for all
                       topics_here->sync();
                       replicas_here->sync();
                       if (c == cluster::cluster_view::change::brokers) {
                         caf::anon_send(ctx.peers, set_peers_atom::value,
                                        peers_of(cluster->view()));
                       }
                     });
                     caf::anon_send(ctx.peers, set_peers_atom::value, peers_of(cluster->view()));
                     // Before anything is served: what the cluster deleted
                     // while this broker was away is set aside.
                     topics_here->set_aside_strays().wait(io.waitScope);
                     topics_here->sync();
                   }
                   server->serve();
                   // The RPC line first: scripts take the first "listening on".
                   std::cout << "listening on " << cfg.listen_host << ":" << port << std::endl;
                   // Stops the broker from any thread, once, as SIGTERM does.
                   auto stop_paf = kj::newPromiseAndCrossThreadFulfiller<void>();
                   auto stop_once = std::make_shared<stop_handle>(kj::mv(stop_paf.fulfiller));
                   if (hooks.on_listening) {
                     hooks.on_listening(port, [stop_once] { stop_once->fire(); });
                   }
                   if (!cfg.http_host.empty()) {
                     http_server::settings hs;
                     hs.host = cfg.http_host;
                     hs.port = cfg.http_port;
                     hs.system = &sys;
                     hs.inspector = inspector;
                     hs.retry = caf::actor_cast<caf::actor>(*retry);
                     http = std::make_unique<http_thread>(hs);
                     std::cout << "http listening on " << cfg.http_host << ":" << http->port()
                               << std::endl;
                   }
                   kj::Promise<int> signal = kj::NEVER_DONE;
                   if (hooks.stop_on_signals) {
                     signal =
                         io.unixEventPort.onSignal(SIGTERM)
                             .exclusiveJoin(io.unixEventPort.onSignal(SIGINT))
                             .then([](siginfo_t sig) {
                               broker_log().info("signal {} received: shutting down", sig.si_signo);
                               return 0;
                             });
                   }
                   // A listener that can accept no more clients stops the
                   // broker: a process that looks alive but serves nobody
                   // new is worse than an exit a supervisor sees.
                   auto broken = server->failed().then([](std::string why) {
                     std::cerr << "actormq-broker: " << why << "\n";
                     return 1;
                   });
                   rc = signal.exclusiveJoin(kj::mv(broken))
                            .exclusiveJoin(stop_paf.promise.then([] { return 0; }))
                            .wait(io.waitScope);
                   // Leaving at once lets the controller move leadership now
                   // instead of after the lease TTL.
                   if (cluster) cluster->leave().wait(io.waitScope);
                 })) {
      std::cerr << "actormq-broker: cannot serve on " << cfg.listen_host << ":" << cfg.listen_port
                << ": " << e->getDescription().cStr() << "\n";
      rc = 1;
    }
    // Closing the listeners and connections ends every session first.
    isr_binding->detach();
    gone_peers->detach();
    replica_loop = kj::READY_NOW;
    if (replicas_here) replicas_here->stop();
    http = nullptr;
    server = nullptr;
    replicas_here = nullptr;
    topics_here = nullptr;
    producer_ids = nullptr;
    cluster = nullptr;
    // ~actor_system waits for every actor: the published NODE and the PEERS
    // must go first.
    if (node_port != 0) (void)unpublish_node(sys, ctx.node, node_port);
    if (ctx.node) caf::anon_send_exit(ctx.node, caf::exit_reason::user_shutdown);
    if (ctx.peers) caf::anon_send_exit(ctx.peers, caf::exit_reason::user_shutdown);
  }
  if (isr_writer) caf::anon_send_exit(isr_writer, caf::exit_reason::user_shutdown);
  if (inspector) caf::anon_send_exit(inspector, caf::exit_reason::user_shutdown);
  caf::anon_send(txn_coord, close_atom::value);
  caf::anon_send(schedule, close_atom::value);
  caf::anon_send(*retry, close_atom::value);
  caf::anon_send(*coordinator, close_atom::value);
  caf::anon_send(*registry, close_atom::value);
  // ~actor_system waits until every partition has flushed and closed its log.
  return rc;
}

}  // namespace actormq::broker
