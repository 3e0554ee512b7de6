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

#include "actormq/client/message_id.h"
#include "actormq/client/result.h"

namespace actormq::client {

/// How far a produced batch must get before the broker acknowledges it.
enum class acks {
  none,    ///< validated and queued by the broker
  leader,  ///< written to the partition log (page cache)
  fsync,   ///< fdatasync'ed (group commit)
  all,     ///< every in-sync replica has it (one broker: as leader)
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
  /// The headers the producer gave (and the broker's amq- headers of a
  /// retry or dead letter); the id's own header is not among them.
  std::vector<header> headers;
  message_id id;  ///< empty for a record written without one
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
  std::vector<header_view> headers;  ///< without the id's header, as in message
  message_id id;

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
  message_id id;               ///< the record's message id (empty when send() refused it)
  bool scheduled = false;      ///< stored by the broker for delivery at deliver_at_ms
  int64_t deliver_at_ms = -1;  ///< due time (ms since the epoch) when scheduled
  /// How long the broker held this record's batch for the topic's produce
  /// quota before storing it (0: not held).
  uint32_t throttled_ms = 0;
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
  /// Copies of each partition in a cluster; 0 = broker default (1). A
  /// single broker refuses more than 1.
  uint32_t replication_factor = 0;
  /// Produce quotas per producer connection: bytes/s and messages/s it may
  /// send to the topic; -1 broker default, 0 unlimited. Past them the broker
  /// holds the producer's requests (delivery_report::throttled_ms).
  int64_t producer_byte_rate = -1;
  int64_t producer_message_rate = -1;
};

struct partition_info {
  uint32_t partition = 0;
  int64_t log_start_offset = 0;
  int64_t high_watermark = 0;
  uint64_t size_bytes = 0;
  /// Set when the partition did not answer the broker (restarting after a
  /// write error, say); the offsets are then 0.
  error unavailable;
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

/// Who coordinates a consumer group.
struct coordinator_info {
  int32_t broker_id = -1;
  std::string address;  ///< "HOST:PORT" of its RPC listener
};

struct broker_info {
  std::string version;
  std::string broker_id;
  uint64_t max_batch_bytes = 0;
  uint64_t max_message_bytes = 0;
  uint16_t stream_port = 0;  ///< 0 = zero-copy fetch stream off
};

// --- cluster metadata (schema "cluster", docs/cluster.md) ---

/// The answering broker's CAF connection to a broker (its PEERS actor).
enum class peer_link {
  unknown,     ///< not known (an older broker, or PEERS did not answer in time)
  self,        ///< the broker that answered (or a single broker)
  up,          ///< connected, the peer's identity checked
  connecting,  ///< the first connection attempt has not ended
  down,        ///< the attempt failed or the connection was lost; retrying
};

/// "unknown", "self", "up", "connecting", "down".
inline const char* to_string(peer_link l) {
  switch (l) {
    case peer_link::self:
      return "self";
    case peer_link::up:
      return "up";
    case peer_link::connecting:
      return "connecting";
    case peer_link::down:
      return "down";
    case peer_link::unknown:
      break;
  }
  return "unknown";
}

/// A broker of the cluster.
struct broker_node {
  int32_t id = -1;
  std::string address;  ///< "HOST:PORT" of its RPC listener
  bool alive = false;   ///< registered in the control plane (lease live)
  /// Whether the answering broker has a live connection to it; independent
  /// of alive (a registered broker can be unreachable on the cluster port).
  peer_link link = peer_link::unknown;
  int64_t link_since_ms = 0;  ///< wall-clock ms the link entered its state; 0 = unknown
  std::string link_error;     ///< why the last attempt failed or was lost
};

/// Who leads one partition and who copies it.
struct partition_metadata {
  uint32_t partition = 0;
  int32_t leader = -1;  ///< -1 = no leader: the partition is offline
  int32_t leader_epoch = -1;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;  ///< in-sync replicas
};

/// The broker's own topics (__consumer_offsets, ...) are named "__...".
inline bool is_internal_topic(std::string_view name) {
  return name.starts_with("__");
}

struct topic_metadata {
  std::string name;
  error err;  ///< unknown_topic for a name asked for that does not exist
  uint32_t replication_factor = 0;
  std::vector<partition_metadata> partitions;
};

/// The cluster as one broker sees it. A single broker answers as a cluster
/// of one: broker 0 at its own address, controller and leader of everything.
struct cluster_metadata {
  std::string cluster_id;         ///< empty for a single broker
  int32_t broker_id = -1;         ///< the broker that answered
  int32_t controller_id = -1;     ///< -1 = no controller right now
  bool control_plane_up = false;  ///< false: the answering broker cannot reach etcd
  std::vector<broker_node> brokers;
  std::vector<topic_metadata> topics;

  /// The broker with this id, or nullptr.
  const broker_node* find_broker(int32_t id) const {
    for (const auto& b : brokers) {
      if (b.id == id) return &b;
    }
    return nullptr;
  }
};

}  // namespace actormq::client

template <>
struct std::hash<actormq::client::topic_partition> {
  size_t operator()(const actormq::client::topic_partition& tp) const noexcept {
    return std::hash<std::string>{}(tp.topic) * 31 + tp.partition;
  }
};
