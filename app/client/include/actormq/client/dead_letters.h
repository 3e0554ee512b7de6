#pragma once
// Retries and dead letters on the client side (docs/retries-and-dead-letters.md).
//
// A consumer of group G on topic T also reads T.G.retry, where the broker
// puts nacked messages back after the group's backoff, and G's dead letters
// go to T.G.dlq. The record headers below (written by the broker, mirrored
// from actors/retry/retry_headers.h) tell a message's history.
//
// dlq_admin lists pending dead letters, re-drives them and reads the
// dead-letter counters. Every call blocks until the broker answers.
// Thread-safe.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actormq/client/config.h"
#include "actormq/client/connection.h"
#include "actormq/client/result.h"
#include "actormq/client/types.h"

namespace actormq::client {

namespace retry_header {
inline constexpr const char* delivery_count = "amq-delivery-count";
inline constexpr const char* original_topic = "amq-original-topic";
inline constexpr const char* original_partition = "amq-original-partition";
inline constexpr const char* original_offset = "amq-original-offset";
inline constexpr const char* original_timestamp = "amq-original-timestamp";
inline constexpr const char* last_error = "amq-last-error";
inline constexpr const char* dlq_reason = "amq-dlq-reason";
inline constexpr const char* dlq_time = "amq-dlq-time";
inline constexpr const char* dlq_group = "amq-dlq-group";
inline constexpr const char* redrive_count = "amq-redrive-count";
/// Set by a producer: ms since the epoch after which the message is
/// dead-lettered (ttl_expired) instead of delivered.
inline constexpr const char* expires_at = "amq-expires-at";
}  // namespace retry_header

inline std::string retry_topic_name(const std::string& topic, const std::string& group) {
  return topic + "." + group + ".retry";
}
inline std::string dlq_topic_name(const std::string& topic, const std::string& group) {
  return topic + "." + group + ".dlq";
}

/// The value of the first header named key, if any.
std::optional<std::string> header_value(const message& m, std::string_view key);
/// How often m has been delivered, this time included (1 without header).
uint32_t delivery_count(const message& m);

/// A message of a DLQ with its headers decoded.
struct dead_letter {
  message msg;  ///< as stored in the DLQ (topic = the DLQ)
  std::string reason;
  std::string group;
  std::string original_topic;
  uint32_t original_partition = 0;
  int64_t original_offset = -1;
  uint32_t deliveries = 0;
  uint32_t redrives = 0;
  std::string last_error;
  int64_t dead_lettered_at_ms = 0;
};

struct redrive_result {
  uint64_t moved = 0;
  uint64_t refused = 0;     ///< at the re-drive limit: kept in the DLQ
  int64_t next_offset = 0;  ///< the DLQ's re-drive cursor afterwards
};

struct dead_letter_count {
  std::string topic;
  std::string group;
  std::string reason;
  uint64_t count = 0;
};

dead_letter decode_dead_letter(message m);

class dlq_admin {
 public:
  static result<std::unique_ptr<dlq_admin>> create(const connection_config& cfg);
  explicit dlq_admin(std::shared_ptr<connection> conn);

  /// Pending dead letters of a DLQ, from its re-drive cursor (or from
  /// offset `from` when >= 0) on, at most max of them.
  result<std::vector<dead_letter>> list(const std::string& dlq_topic, size_t max = 1000,
                                        int64_t from = -1);
  /// The first pending offset of a DLQ.
  result<int64_t> cursor(const std::string& dlq_topic);
  /// Moves the pending dead letters in [from, to) (to -1 = all) whose reason
  /// matches (empty = any) back to their original topics. At-least-once: an
  /// interrupted re-drive may move the last chunk twice.
  result<redrive_result> redrive(const std::string& dlq_topic, const std::string& reason = {},
                                 int64_t from = 0, int64_t to = -1);
  /// Dead letters since the broker started, per topic, group and reason.
  result<std::vector<dead_letter_count>> stats();

 private:
  std::shared_ptr<connection> conn_;
};

}  // namespace actormq::client
