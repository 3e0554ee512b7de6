#pragma once
// Broker settings: built-in defaults, overridden by a TOML file
// (config/actormq.toml documents every key), overridden by flags.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "actors/delay/delay_levels.h"
#include "actors/topic/topic_config.h"
#include "app/broker/lag_alert_config.h"
#include "app/broker/retry_config.h"

namespace actormq::broker {

/// [cluster]: set cluster_id, broker_id and etcd to join a cluster
/// (docs/cluster.md); with cluster_id empty the broker runs alone.
struct cluster_config {
  std::string cluster_id;                 ///< --cluster-id; empty = single broker
  int32_t broker_id = -1;                 ///< --broker-id, >= 0, unique in the cluster
  std::string etcd;                       ///< --etcd: "http://host:port[,...]"
  std::string listen_host = "127.0.0.1";  ///< --cluster-listen: the NODE actor's port
  uint16_t listen_port = 0;               ///< 0 = pick a free one
  int64_t lease_ttl_ms = 3000;     ///< a broker silent this long is dead; controller failover bound
  int64_t etcd_timeout_ms = 2000;  ///< bound of one etcd call
  int64_t heartbeat_ms = 200;      ///< CAF middleman heartbeat between brokers
  int64_t connection_timeout_ms = 1000;  ///< a peer silent this long is down
  /// A follower not caught up with its leader's log end for this long leaves
  /// the in-sync set (docs/replication.md).
  int64_t replica_lag_ms = 10000;
  int64_t replica_fetch_wait_ms = 500;          ///< a pull at the log end parks this long
  int64_t replica_fetch_max_bytes = 1ll << 20;  ///< bytes per pull (at least one batch)
  int64_t producer_id_block = 1000;             ///< producer ids claimed from etcd at a time
  /// Replicas of the internal topics (__consumer_offsets, ...). With fewer
  /// live brokers the controller waits internal_topic_wait_ms for more, then
  /// creates them with as many as there are (and warns), and adds replicas
  /// as brokers join, up to this many (controller.h).
  uint32_t internal_replication_factor = 3;
  int64_t internal_topic_wait_ms = 2000;
  /// [groups].offsets_partitions, copied here for the controller.
  uint32_t offsets_partitions = 8;
  /// [transactions].state_partitions, copied here for the controller.
  uint32_t txn_state_partitions = 8;
  /// [delay].schedule_partitions, copied here for the controller.
  uint32_t delay_schedule_partitions = 8;
  bool enabled() const { return !cluster_id.empty(); }
};

struct broker_config {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 9292;
  int32_t stream_port = 0;  ///< 0 = ephemeral, -1 = zero-copy stream off
  /// [broker].http / --http: the inspector's HTTP port (web page, /metrics,
  /// JSON; docs/inspector.md). Empty host: off (the default).
  std::string http_host{};
  uint16_t http_port = 0;  ///< 0 = pick a free one
  /// Bound of each actor's answer to an inspection ([broker].inspect_timeout_ms).
  uint32_t inspect_timeout_ms = 1000;
  std::filesystem::path data_dir = "./data";
  /// [broker] bounds of the RPC connections (broker_server.h; docs/
  /// architecture.md, "Bounded resources"). At max_connections a new
  /// connection closes the one idle the longest when that one has been
  /// idle evict_idle_ms, else it is refused.
  uint32_t max_connections = 1024;
  uint32_t evict_idle_ms = 1000;
  /// A connection with nothing in flight this long is closed; 0 = never.
  uint64_t idle_timeout_ms = 600000;
  /// A connection reads no new request while this many of its requests are
  /// served, or while its replies not yet written hold this many bytes.
  uint32_t max_calls_per_connection = 1024;
  uint64_t max_unwritten_reply_bytes = 64ull << 20;
  uint64_t max_batch_bytes = 16ull << 20;
  uint64_t max_message_bytes = 1ull << 20;
  int64_t inflight_bytes_per_partition = 64ll << 20;
  /// Produce quotas (actors/session/produce_throttle.h): the burst a
  /// producer may send at once, and the longest one request is held.
  int64_t quota_burst_ms = 1000;
  int64_t quota_max_delay_ms = 10000;
  /// Bytes of produce requests one connection may have held for quotas;
  /// beyond it a request is refused with busy (retriable).
  int64_t quota_max_held_bytes = 64ll << 20;
  uint32_t scheduler_threads = 2;
  /// [broker].scheduler_policy: "sharing" (one queue, idle workers sleep on
  /// a condition variable and are woken per job) or "stealing" (CAF's
  /// work-stealing: idle workers poll, then sleep up to 10 ms).
  std::string scheduler_policy = "sharing";
  uint32_t flusher_threads = 2;
  std::string log_level = "info";
  topic_config topic_defaults;
  int64_t min_session_timeout_ms = 1000;
  int64_t max_session_timeout_ms = 300000;
  /// [groups].offsets_partitions: partitions of __consumer_offsets when it
  /// is created (alone at first start, in a cluster by the controller); a
  /// group's coordinator is the leader of the partition its name hashes to.
  uint32_t offsets_partitions = 8;
  /// [groups].offsets_compact_min_records / offsets_compact_interval_ms:
  /// a partition of __consumer_offsets is compacted once it holds this many
  /// records and 4 times its live ones; checked at this interval.
  int64_t offsets_compact_min_records = 100000;
  int64_t offsets_compact_interval_ms = 30000;
  delay::delay_levels delay_levels = delay::delay_levels::message_defaults();
  std::chrono::milliseconds max_delay{std::chrono::hours(24 * 90)};
  /// [delay].segment_bytes: alone, segment size of __delay_schedule.
  uint64_t delay_segment_bytes = 64ull << 20;
  /// [delay].bucket_ms: width of a bucket file of the schedule indexes.
  int64_t delay_bucket_ms = 60000;
  /// [delay].keep_delivered_ms / keep_delivered_bytes: how long delivered
  /// envelopes stay in __delay_schedule for traces, unless a partition
  /// holds more bytes than that.
  int64_t delay_keep_delivered_ms = 300000;
  uint64_t delay_keep_delivered_bytes = 128ull << 20;
  /// Partitions of __delay_schedule when it is created; a
  /// target partition's delayed messages live in the one it hashes to.
  uint32_t delay_schedule_partitions = 8;
  retry::retry_settings retry;         ///< [retry], see retry_config.h
  alert_config alerts;                 ///< [alerts]
  group::lag_alert_policy lag_alerts;  ///< [lag_alerts]
  /// [transactions]: check-back of half messages with no decision.
  int64_t txn_timeout_ms = 6000;          ///< from sendHalf to the first check
  int64_t txn_check_interval_ms = 30000;  ///< between checks
  uint32_t txn_max_checks = 15;           ///< then the message is unresolved
  uint32_t txn_max_checks_in_flight = 64;
  int64_t txn_check_timeout_ms = 10000;  ///< a check unanswered this long counts as unknown
  uint64_t txn_max_open = 100000;        ///< open transactions before sendHalf is "busy"
  /// Partitions of __transaction_state when it is created; a producer
  /// group's transactions live in the partition its name hashes to.
  uint32_t txn_state_partitions = 8;
  /// A partition of __transaction_state is compacted once it holds this many
  /// records and 4 times its live ones; checked at this interval.
  int64_t txn_compact_min_records = 100000;
  int64_t txn_compact_interval_ms = 30000;
  cluster_config cluster;  ///< [cluster]
};

/// Checks the cluster settings as a whole (all of cluster_id, broker_id
/// and etcd, or none). Returns the error text.
std::optional<std::string> check_cluster_config(const cluster_config& c);

/// Parses "HOST:PORT" into host and port.
std::optional<std::string> parse_host_port(const std::string& text, std::string& host,
                                           uint16_t& port);

/// Reads a TOML file over the defaults. Returns the error text on failure
/// (unreadable file, syntax error, wrong type or out-of-range value).
std::optional<std::string> load_config_file(const std::filesystem::path& file, broker_config& cfg);
/// The same for a config's text; name stands for the file in errors.
std::optional<std::string> load_config_text(std::string_view text, std::string_view name,
                                            broker_config& cfg);

/// Parses "HOST:PORT" into cfg's listen address.
std::optional<std::string> parse_listen(const std::string& text, broker_config& cfg);

}  // namespace actormq::broker
