#include "actors/inspect/metric_catalog.h"

#include <algorithm>

namespace actormq {

const std::vector<metric_family>& metric_catalog() {
  static const std::vector<metric_family> families = [] {
    std::vector<metric_family> f{
        // process (the names every Prometheus client library uses)
        {"process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds."},
        {"process_resident_memory_bytes", "gauge", "Resident memory size, in bytes."},
        {"process_virtual_memory_bytes", "gauge", "Virtual memory size, in bytes."},
        {"process_open_fds", "gauge", "Open file descriptors."},
        {"process_max_fds", "gauge", "Limit of open file descriptors."},
        {"process_threads", "gauge", "Threads of the broker process."},
        {"process_start_time_seconds", "gauge",
         "Start time of the process since the Unix epoch, in seconds."},
        // broker
        {"actormq_broker_info", "gauge",
         "Always 1; labels broker (id) and address (RPC HOST:PORT)."},
        {"actormq_connections", "gauge", "Open client connections (RPC sessions)."},
        {"actormq_connections_closed_total", "counter",
         "Connections the broker closed for its bounds, by reason: refused (at max_connections, "
         "none idle), evicted (for a new one at max_connections), idle (idle_timeout_ms)."},
        {"actormq_connections_paused", "gauge",
         "Connections whose requests the broker does not read now: max_calls_per_connection "
         "requests in flight, or max_unwritten_reply_bytes of replies the client has not read."},
        {"actormq_connection_pauses_total", "counter",
         "Times a connection's reading was paused for those bounds (a client sending faster "
         "than it reads)."},
        {"actormq_actors", "gauge", "Actors listed by the inspector, by kind."},
        {"actormq_actor_mailbox", "gauge",
         "Messages waiting in the mailboxes of the actors of a kind, summed."},
        {"actormq_actors_unanswered", "gauge",
         "Actors of a kind that did not answer the last inspection in time."},
        // RPC
        {"actormq_rpc_requests_total", "counter", "RPC calls answered, by method."},
        {"actormq_rpc_errors_total", "counter",
         "RPC calls that failed with an exception (a malformed request, a broken connection), "
         "by method."},
        {"actormq_produce_requests_total", "counter", "Produce calls answered."},
        {"actormq_produce_bytes_total", "counter", "Bytes of record batches received by produce."},
        {"actormq_produce_messages_total", "counter",
         "Messages (records) received by produce calls, before validation."},
        {"actormq_fetch_requests_total", "counter", "Fetch calls answered."},
        {"actormq_produce_latency_seconds", "histogram",
         "Time from receiving a produce call to its answer (includes the acks wait), in "
         "seconds."},
        {"actormq_fetch_latency_seconds", "histogram",
         "Time from receiving a fetch call to its answer (includes the long-poll wait), in "
         "seconds."},
        // partitions
        {"actormq_partition_log_start_offset", "gauge", "First offset still in the log."},
        {"actormq_partition_log_end_offset", "gauge", "Next offset to be appended."},
        {"actormq_partition_high_watermark", "gauge",
         "Offset consumers can read up to (replicated: acknowledged by the in-sync replicas)."},
        {"actormq_partition_size_bytes", "gauge", "Bytes of the partition's segments on disk."},
        {"actormq_partition_segments", "gauge", "Segments of the partition's log."},
        {"actormq_partition_unflushed_messages", "gauge",
         "Messages written but not yet fdatasync'ed."},
        {"actormq_partition_duplicate_batches_total", "counter",
         "Idempotent batches a partition answered as duplicates of stored ones (a producer's "
         "resend after a lost reply), not stored again."},
        {"actormq_partition_out_of_order_batches_total", "counter",
         "Idempotent batches a partition refused because their sequence left a gap (an earlier "
         "batch of the producer not stored yet); the producer resends them in order. Steadily "
         "rising: batches reach the broker out of order."},
        {"actormq_partition_leader", "gauge",
         "1 when this broker's replica leads the partition, else 0."},
        {"actormq_partition_isr_size", "gauge",
         "In-sync replicas of a partition this broker leads."},
        {"actormq_partition_replica_lag_messages", "gauge",
         "Messages a follower replica is behind this leader's log end, by replica."},
        // registry and cluster
        {"actormq_topics", "gauge",
         "Topics held by this broker's registry (dead-letter and internal topics included)."},
        {"actormq_partitions", "gauge", "Partitions whose partition actor runs on this broker."},
        {"actormq_topic_producer_byte_rate", "gauge",
         "A topic's produce quota per producer connection, in bytes per second (topics with "
         "one)."},
        {"actormq_topic_producer_message_rate", "gauge",
         "A topic's produce quota per producer connection, in messages per second (topics with "
         "one)."},
        {"actormq_topic_produce_throttled_total", "counter",
         "Produce requests of a topic held back for its produce quota."},
        {"actormq_topic_produce_throttle_seconds_total", "counter",
         "Time produce requests of a topic were held back for its produce quota, summed, in "
         "seconds."},
        {"actormq_peer_up", "gauge",
         "1 when the peer broker is connected and its identity checked, else 0."},
        {"actormq_replica_fetch_lag_messages", "gauge",
         "Messages this follower replica is behind its leader's log end (as of its last pull)."},
        // transactions
        {"actormq_txn_open", "gauge",
         "Transactions (half messages) this coordinator holds with no decision yet."},
        {"actormq_txn_checks_in_flight", "gauge",
         "Check-backs sent to a producer and not yet answered or timed out."},
        {"actormq_txn_checks_waiting", "gauge",
         "Transactions due for a check-back whose producer group has no connected producer."},
        {"actormq_txn_checks_total", "counter", "Check-backs sent."},
        {"actormq_txn_committed_total", "counter", "Transactions committed and delivered."},
        {"actormq_txn_rolled_back_total", "counter", "Transactions rolled back."},
        {"actormq_txn_unresolved_total", "counter",
         "Transactions given up after max_checks unanswered check-backs."},
        // retries and alerts
        {"actormq_retry_jobs_running", "gauge",
         "Nack requests (records being retried or dead-lettered) and re-drives in progress, "
         "by job."},
        {"actormq_alert_hook_runs_total", "counter", "Alert hook commands run, failures included."},
        {"actormq_alert_hook_failures_total", "counter",
         "Alert hook commands that exited non-zero, were killed or could not start."},
        {"actormq_alert_hook_dropped_total", "counter",
         "Alerts dropped because the hook's queue was full."},
        // delayed messages
        {"actormq_delay_pending", "gauge",
         "Delayed messages scheduled and not yet delivered, by __delay_schedule partition "
         "(reported by its leader) and level: level is 1..N with its delay, retry (a consumer "
         "retry's backoff), at (a deliver-at time) or unknown (scheduled by an earlier "
         "release)."},
        {"actormq_delay_loaded", "gauge",
         "Delayed messages the leader holds in memory, not yet delivered (due within the "
         "load-ahead window), by __delay_schedule partition."},
        {"actormq_delay_next_due_seconds", "gauge",
         "Seconds until the earliest loaded delayed message is due (negative: overdue)."},
        {"actormq_delay_index_buckets", "gauge",
         "Bucket files of a __delay_schedule replica's on-disk index."},
        {"actormq_delay_apply_lag_records", "gauge",
         "Records of a __delay_schedule partition not yet applied to this replica's index."},
        {"actormq_delay_envelopes_waiting", "gauge",
         "Delayed produces waiting for their envelope to be appended to __delay_schedule."},
        {"actormq_delay_envelopes_out", "gauge",
         "Envelopes in append batches sent and not yet acknowledged."},
        {"actormq_delay_scheduled_total", "counter", "Delayed messages accepted by this broker."},
        {"actormq_delay_delivered_total", "counter",
         "Delayed messages delivered to their target topic by this broker."},
        // consumer groups
        {"actormq_groups", "gauge", "Consumer groups with a running GROUP actor on this broker."},
        {"actormq_group_coordinator_partitions", "gauge",
         "Partitions of __consumer_offsets this broker leads, by load state (ready, loading)."},
        {"actormq_group_lag", "gauge",
         "Messages a group still has to consume on a partition (high watermark - committed "
         "offset); absent while the high watermark is unknown."},
        {"actormq_group_committed_offset", "gauge",
         "A group's committed offset on a partition (the next offset it consumes)."},
        {"actormq_group_members", "gauge", "Members of a consumer group."},
        {"actormq_group_generation", "gauge",
         "Generation of a consumer group (one more on every rebalance)."},
        {"actormq_group_lag_alerting", "gauge",
         "1 while a group's lag alert is raised (lag or age over its threshold), else 0; only "
         "for groups with a lag threshold."},
        {"actormq_group_lag_alerts_total", "counter",
         "Lag alerts a group raised since its GROUP actor started."},
        {"actormq_group_oldest_unconsumed_age_seconds", "gauge",
         "Age of a group's oldest unconsumed message, estimated from the high watermarks of its "
         "lag checks; only for groups with a lag threshold."},
        // storage
        {"actormq_fsyncs_total", "counter", "fdatasync calls of a flusher thread."},
        {"actormq_fsync_failures_total", "counter", "fdatasync calls that failed."},
        {"actormq_fsync_seconds_total", "counter", "Time spent in fdatasync, in seconds."},
        // counters of the shared registry (metrics_registry)
        {"actormq_dead_letters_total", "counter",
         "Messages moved to a dead-letter topic, by topic, group and reason."},
        {"actormq_queue_full_total", "counter",
         "Produces refused or messages dead-lettered by a full bounded partition."},
    };
    std::sort(f.begin(), f.end(),
              [](const metric_family& a, const metric_family& b) { return a.name < b.name; });
    return f;
  }();
  return families;
}

const metric_family* find_metric_family(std::string_view sample_name) {
  const auto& f = metric_catalog();
  auto lookup = [&](std::string_view n) -> const metric_family* {
    auto it =
        std::lower_bound(f.begin(), f.end(), n,
                         [](const metric_family& a, std::string_view b) { return a.name < b; });
    return it != f.end() && it->name == n ? &*it : nullptr;
  };
  if (auto* m = lookup(sample_name)) return m;
  for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
    if (sample_name.size() > suffix.size() &&
        sample_name.substr(sample_name.size() - suffix.size()) == suffix) {
      auto* m = lookup(sample_name.substr(0, sample_name.size() - suffix.size()));
      if (m && m->type == "histogram") return m;
    }
  }
  return nullptr;
}

}  // namespace actormq
