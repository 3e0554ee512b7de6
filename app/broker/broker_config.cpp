#include "app/broker/broker_config.h"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <cctype>
#include <charconv>

namespace actormq::broker {

namespace {

template <typename T>
std::optional<std::string> read_int(const toml::table& t, std::string_view section,
                                    std::string_view key, T& out, int64_t min, int64_t max) {
  auto node = t[section][key];
  if (!node) return std::nullopt;
  auto v = node.value_exact<int64_t>();
  if (!v) return fmt::format("[{}].{} must be an integer", section, key);
  if (*v < min || *v > max) {
    return fmt::format("[{}].{} = {} is out of range [{}, {}]", section, key, *v, min, max);
  }
  out = static_cast<T>(*v);
  return std::nullopt;
}

/// Applies a parsed config over cfg; file names it in errors.
std::optional<std::string> apply_config(const toml::table& t, std::string_view file,
                                        broker_config& cfg);

}  // namespace

std::optional<std::string> parse_host_port(const std::string& text, std::string& host,
                                           uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return "address must be HOST:PORT";
  int value = -1;
  auto ps = std::string_view(text).substr(colon + 1);
  auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), value);
  if (ec != std::errc{} || p != ps.data() + ps.size() || value < 0 || value > 65535) {
    return fmt::format("bad port in address '{}'", text);
  }
  host = text.substr(0, colon);
  port = static_cast<uint16_t>(value);
  return std::nullopt;
}

std::optional<std::string> parse_listen(const std::string& text, broker_config& cfg) {
  return parse_host_port(text, cfg.listen_host, cfg.listen_port);
}

std::optional<std::string> check_cluster_config(const cluster_config& c) {
  bool any = !c.cluster_id.empty() || c.broker_id >= 0 || !c.etcd.empty();
  if (!any) return std::nullopt;
  if (c.cluster_id.empty()) return "joining a cluster needs --cluster-id";
  if (c.broker_id < 0) return "joining a cluster needs --broker-id (0 or more)";
  if (c.etcd.empty()) return "joining a cluster needs --etcd URL[,URL...]";
  for (char ch : c.cluster_id) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.') {
      return fmt::format("cluster id '{}' may hold only letters, digits, '-', '_' and '.'",
                         c.cluster_id);
    }
  }
  if (c.lease_ttl_ms < 1000) return "[cluster].lease_ttl_ms must be at least 1000";
  return std::nullopt;
}

std::optional<std::string> load_config_file(const std::filesystem::path& file, broker_config& cfg) {
  toml::table t;
  try {
    t = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    return fmt::format("{}: {} (line {})", file.string(), e.description(), e.source().begin.line);
  }
  return apply_config(t, file.string(), cfg);
}

std::optional<std::string> load_config_text(std::string_view text, std::string_view name,
                                            broker_config& cfg) {
  toml::table t;
  try {
    t = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    return fmt::format("{}: {} (line {})", name, e.description(), e.source().begin.line);
  }
  return apply_config(t, name, cfg);
}

namespace {

std::optional<std::string> apply_config(const toml::table& t, std::string_view file,
                                        broker_config& cfg) {
  if (auto listen = t["broker"]["listen"].value<std::string>()) {
    if (auto err = parse_listen(*listen, cfg))
      return fmt::format("{}: [broker].listen: {}", file, *err);
  }
  if (auto http = t["broker"]["http"].value<std::string>()) {
    if (auto err = parse_host_port(*http, cfg.http_host, cfg.http_port)) {
      return fmt::format("{}: [broker].http: {}", file, *err);
    }
  }
  if (auto dir = t["broker"]["data_dir"].value<std::string>()) cfg.data_dir = *dir;
  if (auto lvl = t["broker"]["log_level"].value<std::string>()) cfg.log_level = *lvl;
  constexpr int64_t big = INT64_MAX;
  std::optional<std::string> err;
  auto check = [&](std::optional<std::string> e) {
    if (e && !err) err = e;
  };
  check(read_int(t, "broker", "stream_port", cfg.stream_port, -1, 65535));
  check(read_int(t, "broker", "max_connections", cfg.max_connections, 1, 1000000));
  check(read_int(t, "broker", "evict_idle_ms", cfg.evict_idle_ms, 0, 3600000));
  check(read_int(t, "broker", "idle_timeout_ms", cfg.idle_timeout_ms, 0, big));
  check(
      read_int(t, "broker", "max_calls_per_connection", cfg.max_calls_per_connection, 1, 1000000));
  check(read_int(t, "broker", "max_unwritten_reply_bytes", cfg.max_unwritten_reply_bytes, 1 << 20,
                 big));
  check(read_int(t, "broker", "inspect_timeout_ms", cfg.inspect_timeout_ms, 10, 60000));
  check(read_int(t, "broker", "max_batch_bytes", cfg.max_batch_bytes, 1024, 256ll << 20));
  check(read_int(t, "broker", "max_message_bytes", cfg.max_message_bytes, 1, 256ll << 20));
  check(read_int(t, "broker", "inflight_bytes_per_partition", cfg.inflight_bytes_per_partition,
                 1 << 20, big));
  check(read_int(t, "broker", "quota_burst_ms", cfg.quota_burst_ms, 1, 3600000));
  check(read_int(t, "broker", "quota_max_delay_ms", cfg.quota_max_delay_ms, 1, 600000));
  check(read_int(t, "broker", "quota_max_held_bytes", cfg.quota_max_held_bytes, 1 << 20, big));
  check(read_int(t, "broker", "scheduler_threads", cfg.scheduler_threads, 1, 256));
  if (auto p = t["broker"]["scheduler_policy"].value<std::string>()) {
    if (*p != "sharing" && *p != "stealing") {
      check(fmt::format("[broker].scheduler_policy: '{}' is neither sharing nor stealing", *p));
    } else {
      cfg.scheduler_policy = *p;
    }
  }
  check(read_int(t, "broker", "flusher_threads", cfg.flusher_threads, 1, 64));
  auto& d = cfg.topic_defaults;
  check(read_int(t, "topic_defaults", "partitions", d.partitions, 1, 10000));
  check(read_int(t, "topic_defaults", "retention_ms", d.retention_ms, -1, big));
  check(read_int(t, "topic_defaults", "retention_bytes", d.retention_bytes, -1, big));
  check(read_int(t, "topic_defaults", "segment_bytes", d.segment_bytes, 1024, (4ll << 30) - 1));
  check(read_int(t, "topic_defaults", "segment_ms", d.segment_ms, 1, big));
  check(read_int(t, "topic_defaults", "flush_messages", d.flush_messages, 0, big));
  check(read_int(t, "topic_defaults", "flush_ms", d.flush_ms, 0, big));
  check(read_int(t, "topic_defaults", "producer_byte_rate", d.producer_byte_rate, 0, big));
  check(read_int(t, "topic_defaults", "producer_message_rate", d.producer_message_rate, 0, big));
  check(read_int(t, "groups", "min_session_timeout_ms", cfg.min_session_timeout_ms, 1, big));
  check(read_int(t, "groups", "max_session_timeout_ms", cfg.max_session_timeout_ms, 1, big));
  check(read_int(t, "groups", "offsets_partitions", cfg.offsets_partitions, 1, 1000));
  check(read_int(t, "groups", "offsets_compact_min_records", cfg.offsets_compact_min_records, 1,
                 big));
  check(read_int(t, "groups", "offsets_compact_interval_ms", cfg.offsets_compact_interval_ms, 10,
                 big));
  if (auto levels = t["delay"]["levels"].value<std::string>()) {
    auto parsed = delay::delay_levels::parse(*levels);
    if (!parsed)
      check(fmt::format("[delay].levels: '{}' is not a list of durations", *levels));
    else
      cfg.delay_levels = *parsed;
  }
  if (auto md = t["delay"]["max_delay"].value<std::string>()) {
    auto parsed = delay::parse_duration(*md);
    if (!parsed)
      check(fmt::format("[delay].max_delay: '{}' is not a duration", *md));
    else
      cfg.max_delay = *parsed;
  }
  check(read_int(t, "delay", "segment_bytes", cfg.delay_segment_bytes, 4096, int64_t{1} << 40));
  // The wheel loads a bucket once it lies inside its 2-minute window.
  check(read_int(t, "delay", "bucket_ms", cfg.delay_bucket_ms, 100, 60000));
  check(read_int(t, "delay", "keep_delivered_ms", cfg.delay_keep_delivered_ms, 0,
                 int64_t{7} * 24 * 3600 * 1000));
  check(read_int(t, "delay", "keep_delivered_bytes", cfg.delay_keep_delivered_bytes, 0,
                 int64_t{1} << 40));
  check(read_int(t, "delay", "schedule_partitions", cfg.delay_schedule_partitions, 1, 1000));
  check(load_retry_config(t, cfg.retry, cfg.alerts));
  check(load_lag_alert_config(t, cfg.lag_alerts));
  check(read_int(t, "transactions", "timeout_ms", cfg.txn_timeout_ms, 1, big));
  check(read_int(t, "transactions", "check_interval_ms", cfg.txn_check_interval_ms, 1, big));
  check(read_int(t, "transactions", "max_checks", cfg.txn_max_checks, 1, 1000000));
  check(read_int(t, "transactions", "max_checks_in_flight", cfg.txn_max_checks_in_flight, 1,
                 1000000));
  check(read_int(t, "transactions", "check_timeout_ms", cfg.txn_check_timeout_ms, 1, big));
  check(read_int(t, "transactions", "max_open", cfg.txn_max_open, 1, big));
  check(read_int(t, "transactions", "state_partitions", cfg.txn_state_partitions, 1, 1000));
  check(read_int(t, "transactions", "compact_min_records", cfg.txn_compact_min_records, 1, big));
  check(read_int(t, "transactions", "compact_interval_ms", cfg.txn_compact_interval_ms, 10, big));
  auto& c = cfg.cluster;
  if (auto v = t["cluster"]["cluster_id"].value<std::string>()) c.cluster_id = *v;
  if (auto v = t["cluster"]["etcd"].value<std::string>()) c.etcd = *v;
  if (auto v = t["cluster"]["listen"].value<std::string>()) {
    check(parse_host_port(*v, c.listen_host, c.listen_port));
  }
  check(read_int(t, "cluster", "broker_id", c.broker_id, 0, INT32_MAX));
  check(read_int(t, "cluster", "lease_ttl_ms", c.lease_ttl_ms, 1000, 600000));
  check(read_int(t, "cluster", "etcd_timeout_ms", c.etcd_timeout_ms, 100, 600000));
  check(read_int(t, "cluster", "heartbeat_ms", c.heartbeat_ms, 10, 600000));
  check(read_int(t, "cluster", "connection_timeout_ms", c.connection_timeout_ms, 100, 600000));
  check(read_int(t, "cluster", "replica_lag_ms", c.replica_lag_ms, 100, 3600000));
  check(read_int(t, "cluster", "replica_fetch_wait_ms", c.replica_fetch_wait_ms, 1, 60000));
  check(read_int(t, "cluster", "replica_fetch_max_bytes", c.replica_fetch_max_bytes, 1024,
                 256 << 20));
  check(read_int(t, "cluster", "producer_id_block", c.producer_id_block, 1, 1000000000));
  check(
      read_int(t, "cluster", "internal_replication_factor", c.internal_replication_factor, 1, 100));
  check(read_int(t, "cluster", "internal_topic_wait_ms", c.internal_topic_wait_ms, 0, 600000));
  c.offsets_partitions = cfg.offsets_partitions;
  c.txn_state_partitions = cfg.txn_state_partitions;
  c.delay_schedule_partitions = cfg.delay_schedule_partitions;
  if (err) return fmt::format("{}: {}", file, *err);
  d.max_batch_bytes = static_cast<int64_t>(cfg.max_batch_bytes);
  return std::nullopt;
}

}  // namespace

}  // namespace actormq::broker
