#pragma once
// Plain value types of the client API: what users send, receive and inspect.
// None of them refer to Cap'n Proto or the storage module.

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actormq/client/result.h"

namespace actormq::client {

/// How far a produced batch must get before the broker acknowledges it.
enum class acks {
  none,    ///< validated and queued by the broker
  leader,  ///< written to the partition log (page cache)
  fsync,   ///< fdatasync'ed (group commit)
};

struct topic_partition {
  std::string topic;
  uint32_t partition = 0;
  auto operator<=>(const topic_partition&) const = default;
};

/// An offset for one partition: the next offset to consume.
struct topic_partition_offset {
  std::string topic;
  uint32_t partition = 0;
  int64_t offset = -1;
};

/// One record header. Keys are never null, values may be.
struct header {
  std::string key;
  std::optional<std::string> value;
};

/// A record as the consumer returns it.
struct message {
  std::string topic;
  uint32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<header> headers;
};

/// A header of a message_view: views into the fetched bytes.
struct header_view {
  std::string_view key;
  std::optional<std::string_view> value;
};

/// A record as consumer::poll_batch() returns it: views into the bytes its
/// message_batch owns, valid while that batch lives. Building one allocates
/// nothing (the headers vector only when the record has headers).
struct message_view {
  std::string_view topic;
  uint32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  std::vector<header_view> headers;

  /// An owning copy (for nack(), reject(), or keeping it past its batch).
  message to_message() const;
};

/// Outcome of one send(): where the record landed, or why it did not.
/// offset is -1 when the broker did not report one (acks::none, or a
/// scheduled delayed record: its offset is assigned at delivery).
struct delivery_report {
  std::string topic;
  uint32_t partition = 0;
  int64_t offset = -1;
  bool scheduled = false;      ///< stored by the broker for delivery at deliver_at_ms
  int64_t deliver_at_ms = -1;  ///< due time (ms since the epoch) when scheduled
  error err;                   ///< success when !err
  bool ok() const { return !err; }
};

using delivery_callback = std::function<void(const delivery_report&)>;

/// What a bounded topic does at max_messages (docs/retries-and-dead-letters.md).
enum class full_policy : uint8_t {
  broker_default = 0,
  reject_new,          ///< the produce fails with errc::queue_full
  dead_letter_oldest,  ///< the oldest messages move to "<topic>.dlq"
};

/// Per-topic settings; zero/negative mean "broker default" as in the schema.
struct topic_config {
  uint32_t partitions = 1;
  int64_t retention_ms = -2;     ///< -1 keep forever, -2 broker default
  int64_t retention_bytes = -2;  ///< per partition; -1 unbounded, -2 default
  int64_t segment_bytes = 0;
  int64_t segment_ms = 0;
  int64_t flush_messages = -1;
  int64_t flush_ms = -1;
  int64_t max_messages = -1;  ///< per partition; -1 default, 0 unbounded
  full_policy when_full = full_policy::broker_default;
  int64_t ttl_ms = -1;  ///< -1 default, 0 none; else expiry after the record timestamp
};

struct partition_info {
  uint32_t partition = 0;
  int64_t log_start_offset = 0;
  int64_t high_watermark = 0;
  uint64_t size_bytes = 0;
};

struct topic_info {
  std::string name;
  topic_config config;
  std::vector<partition_info> partitions;
};

struct member_info {
  std::string member_id;
  std::string client_id;
  std::vector<topic_partition> assignment;
  int64_t last_heartbeat_ms_ago = 0;
};

struct partition_lag {
  std::string topic;
  uint32_t partition = 0;
  int64_t committed = -1;  ///< -1 = none committed
  int64_t high_watermark = 0;
  int64_t lag = 0;
  std::string member;  ///< owner, empty if unassigned
};

struct group_info {
  std::string name;
  int32_t generation = 0;
  std::string strategy;
  std::vector<member_info> members;
  std::vector<partition_lag> partitions;
};

struct broker_info {
  std::string version;
  std::string broker_id;
  uint64_t max_batch_bytes = 0;
  uint64_t max_message_bytes = 0;
  uint16_t stream_port = 0;  ///< 0 = zero-copy fetch stream off
};

}  // namespace actormq::client

template <>
struct std::hash<actormq::client::topic_partition> {
  size_t operator()(const actormq::client::topic_partition& tp) const noexcept {
    return std::hash<std::string>{}(tp.topic) * 31 + tp.partition;
  }
};
