#pragma once
// Configuration structs of the client. Defaults are usable as they are;
// durations are milliseconds.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "actormq/client/types.h"

namespace actormq::client {

/// Default broker address (the broker's default listen address).
inline constexpr const char* default_broker = "127.0.0.1:9292";

struct connection_config {
  /// Bootstrap brokers: "HOST:PORT" or "HOST:PORT[,HOST:PORT...]". The
  /// first reachable one answers metadata (and what is not routed to a
  /// partition leader, group coordinator or the controller); when it cannot
  /// be reached or its session dies, the next one in the list is used. The
  /// other brokers of a cluster are found through metadata.
  std::string broker = default_broker;
  std::string client_id = "actormq-client";
  uint32_t connect_timeout_ms = 5000;
  /// A request unanswered this long fails with request_timeout. A produce
  /// request that times out this way also closes its session (the broker
  /// answers nothing; its unwritten batches would pile up behind it): the
  /// next request opens a new one.
  uint32_t request_timeout_ms = 30000;
  /// Largest Cap'n Proto message accepted in either direction; raised to at
  /// least 64 MiB and to the broker's max batch size plus headroom.
  size_t max_message_bytes = 128u << 20;
  /// A session to a broker other than the bootstrap one (a leader, a
  /// coordinator, the controller) is closed after this long unused.
  uint32_t connections_max_idle_ms = 540000;
  /// Metadata is asked for at most this often (after notLeader and the like).
  uint32_t metadata_refresh_min_ms = 100;
};

enum class partitioner_kind {
  /// Kafka's default: murmur2(key) for keyed records, sticky for null keys
  /// (one partition per batch, moving on when the batch is sent).
  murmur2_sticky,
  /// murmur2 for keyed records, round-robin per record for null keys.
  murmur2_round_robin,
};

struct producer_config {
  connection_config connection;
  /// all (the default, as Kafka's since 3.0): every in-sync replica has the
  /// batch; on one broker or a topic of replication factor 1 it is leader.
  enum acks acks = acks::all;
  /// Idempotent producer: initProducer id/epoch and per-partition sequence
  /// numbers, so retries never store a batch twice, even across a new
  /// producer id (producer.h).
  bool idempotent = true;
  uint32_t linger_ms = 5;
  /// A batch is sent once it reaches this size (capped at the broker's max).
  size_t batch_bytes = 1u << 20;
  /// Full batches (batch_bytes reached) in flight per partition, as
  /// Kafka's max.in.flight.requests.per.connection. A batch sent before it
  /// is full (linger_ms over, flush) goes only when nothing of its
  /// partition is in flight: Nagle's rule, so a round trip carries what
  /// arrived meanwhile and a trickle of records is not one request each.
  /// At most 5 (the batches the broker keeps per producer to recognise a
  /// retry). A producer that is not idempotent sends its immediate batches
  /// one at a time (a retry behind a later batch would reorder them
  /// without the broker's sequence check); its delayed batches, not
  /// ordered, use this limit.
  uint32_t max_in_flight_per_partition = 5;
  uint32_t retries = 100;
  uint32_t retry_backoff_ms = 50;
  uint32_t retry_backoff_max_ms = 2000;
  /// A record not acknowledged within this time fails with delivery_timeout
  /// (also one never sent: its batch open, or waiting for a free slot or a
  /// producer id). Must be greater than linger_ms (producer::init refuses
  /// it otherwise).
  uint32_t delivery_timeout_ms = 120000;
  /// send() blocks while this many record bytes wait for acknowledgement.
  /// 32 MiB, Kafka's buffer.memory: 32 batches of the default batch_bytes,
  /// enough to keep max_in_flight_per_partition of them on the wire. A
  /// producer touches its buffer's memory for the first time as it fills
  /// it; where that is slow (this project's VMs), 64 MiB cost a fresh
  /// producer about 0.18 us more client CPU a message than 32 MiB over its
  /// first million (docs/benchmarks.md, "W2 between runs, and the
  /// producer's first 64 MiB"). Settled batches' buffers are reused up to
  /// half of it (at most 2 x batch_bytes each): raise it with batch_bytes.
  size_t buffer_memory = 32u << 20;
  /// How long send() blocks for buffer space or metadata before failing.
  uint32_t max_block_ms = 60000;
  /// Partition counts and leaders are refreshed after this age (leaders at
  /// once after notLeader or a lost leader).
  uint32_t metadata_max_age_ms = 30000;
  partitioner_kind partitioner = partitioner_kind::murmur2_sticky;
};

enum class offset_reset { earliest, latest };

struct consumer_config {
  connection_config connection;
  std::string group_id;
  uint32_t session_timeout_ms = 10000;  ///< heartbeats every third of it
  std::string strategy = "range";
  offset_reset auto_offset_reset = offset_reset::latest;
  bool enable_auto_commit = false;
  uint32_t auto_commit_interval_ms = 5000;
  size_t max_poll_records = 500;
  uint32_t fetch_max_bytes_per_partition = 1u << 20;
  uint32_t fetch_max_wait_ms = 500;
  uint32_t fetch_min_bytes = 1;
  /// Partition leaders are looked up again after this age (and at once
  /// after notLeader or a lost leader).
  uint32_t metadata_max_age_ms = 30000;
  /// Zero-copy fetch: batch bytes arrive on the session's plain TCP stream
  /// (openStream, sendfile on the broker) instead of inside the RPC reply.
  bool use_fetch_stream = false;
  /// Check each fetched batch's CRC32C before decoding.
  bool check_crcs = true;

  // --- retries and dead letters (docs/retries-and-dead-letters.md) ---
  /// Also subscribe to each topic's retry topic T.<group_id>.retry (created
  /// when missing), where nack()ed messages come back after the group's
  /// backoff. A message retried later does not block its partition.
  bool retry_topics = true;
  /// Strict order instead: nack() blocks the message's partition and the
  /// consumer fetches the same offset again after strict_backoff_ms (no
  /// retry topic; the delivery count lives in this consumer's memory and
  /// starts again at 1 after a restart or rebalance).
  bool strict_order = false;
  /// Backoff of strict order mode: retry n waits the n-th entry (the last
  /// one repeats); past strict_max_retries a nack dead-letters.
  std::vector<uint32_t> strict_backoff_ms = {1000, 5000, 30000, 60000, 300000};
  uint32_t strict_max_retries = 16;
  /// Dead-letter (ttl_expired) fetched messages whose amq-expires-at header
  /// lies in the past instead of returning them.
  bool dead_letter_expired = true;
};

}  // namespace actormq::client
