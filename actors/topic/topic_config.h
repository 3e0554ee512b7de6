#pragma once
// Settings of one topic, persisted as <data>/topics/<name>/topic.conf:
// text lines "key = value" (written atomically), keys as the field names
// (when_full is written as "full_policy = reject-new|dead-letter-oldest").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/log_config.h"

namespace actormq {

/// What a bounded topic's partition does when a produce would take it past
/// max_messages (docs/retries-and-dead-letters.md, "Bounded topics").
enum class full_policy : uint8_t {
  reject_new = 0,          ///< refuse the produce with errc::queue_full
  dead_letter_oldest = 1,  ///< move the oldest messages to <topic>.dlq, then append
};

const char* to_string(full_policy p);
std::optional<full_policy> parse_full_policy(std::string_view text);

struct topic_config {
  uint32_t partitions = 1;
  int64_t retention_ms = 7 * 24 * 3600 * 1000ll;  ///< -1 = forever
  int64_t retention_bytes = -1;                   ///< per partition; -1 = unbounded
  int64_t segment_bytes = 256ll << 20;
  int64_t segment_ms = 7 * 24 * 3600 * 1000ll;
  int64_t flush_messages = 0;  ///< 0 = no count rule, 1 = every append
  int64_t flush_ms = 1000;     ///< 0 = no time rule
  int64_t max_batch_bytes = 16ll << 20;
  int64_t max_messages = 0;  ///< per partition; 0 = unbounded
  full_policy when_full = full_policy::reject_new;
  int64_t ttl_ms = 0;  ///< messages older than this (record timestamp) expire; 0 = never
  /// Copies of each partition in a cluster (docs/cluster.md); 1 alone.
  uint32_t replication_factor = 1;
  /// acks=all is refused (notEnoughReplicas) while fewer replicas than
  /// min(this, replication_factor) are in sync.
  uint32_t min_insync_replicas = 2;
  /// Placed by a cluster's control plane (set by the broker, not the user):
  /// each partition serves produce and fetch only while it leads, and
  /// replicates from its leader otherwise (docs/replication.md).
  bool replicated = false;
  /// Produce quotas per producer connection (docs/operations.md, "Throttle
  /// a flooding producer"): bytes and messages per second each session may
  /// send to this topic; 0 = unlimited. Beyond them the broker holds the
  /// producer's requests (it delays, never fails them).
  int64_t producer_byte_rate = 0;
  int64_t producer_message_rate = 0;
  uint32_t effective_min_insync() const {
    return min_insync_replicas < replication_factor ? min_insync_replicas : replication_factor;
  }

  std::string encode() const;
  /// Parses encode()'s output; unknown keys are ignored, bad values fail.
  static std::optional<topic_config> decode(std::string_view text);
  storage::log_config log_config() const;
  storage::flush_policy flush_policy() const;
};

/// Topic names: 1..200 of [A-Za-z0-9._-], not "." or "..", not starting with
/// "__" (reserved for internal topics). Returns the reason when invalid.
std::optional<std::string> invalid_topic_name(std::string_view name, bool allow_internal = false);

}  // namespace actormq
