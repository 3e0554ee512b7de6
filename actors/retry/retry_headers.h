#pragma once
// The record headers retries and dead letters carry (all values are
// decimal or plain text). A message's first delivery has none of them.
//
//   amq-delivery-count      this copy's delivery number (2 for the first
//                           retry); absent = 1
//   amq-original-topic      where the message was first produced
//   amq-original-partition
//   amq-original-offset
//   amq-original-timestamp  its first record timestamp (ms since the epoch)
//   amq-last-error          the error text of the last nack or reject
//   amq-dlq-reason          max_retries, rejected, ttl_expired, queue_full
//   amq-dlq-time            when it was dead-lettered (ms since the epoch)
//   amq-dlq-group           the group that dead-lettered it (empty: none)
//   amq-redrive-count       how often it was re-driven from a DLQ
//   amq-expires-at          set by producers: a message delivered after
//                           this time (ms since the epoch) is dead-lettered
//                           as ttl_expired instead
//   amq-id                  set by producers: the message id (16 bytes,
//                           app/client/include/actormq/client/message_id.h);
//                           copied as it is onto every retry, dead letter
//                           and re-drive
//
// Plain C++: no CAF.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/record_batch.h"

namespace actormq::retry {

namespace header {
inline constexpr std::string_view delivery_count = "amq-delivery-count";
inline constexpr std::string_view original_topic = "amq-original-topic";
inline constexpr std::string_view original_partition = "amq-original-partition";
inline constexpr std::string_view original_offset = "amq-original-offset";
inline constexpr std::string_view original_timestamp = "amq-original-timestamp";
inline constexpr std::string_view last_error = "amq-last-error";
inline constexpr std::string_view dlq_reason = "amq-dlq-reason";
inline constexpr std::string_view dlq_time = "amq-dlq-time";
inline constexpr std::string_view dlq_group = "amq-dlq-group";
inline constexpr std::string_view redrive_count = "amq-redrive-count";
inline constexpr std::string_view expires_at = "amq-expires-at";
inline constexpr std::string_view message_id = "amq-id";
}  // namespace header

/// Why a message was dead-lettered.
enum class dead_letter_reason : uint8_t {
  max_retries,  ///< nacked once more after max_retries retries
  rejected,     ///< the consumer rejected it
  ttl_expired,  ///< delivered after its expiry time
  queue_full,   ///< dropped from a full bounded topic (dead-letter-oldest)
};

const char* to_string(dead_letter_reason r);
std::optional<dead_letter_reason> parse_reason(std::string_view text);

/// Where a message was first produced.
struct message_origin {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
};

/// What the headers of one record say about its retry history.
struct delivery_info {
  uint32_t delivery_count = 1;
  message_origin origin;  ///< the record's own position when it has no origin headers
  uint32_t redrive_count = 0;
  std::string last_error;
  std::optional<dead_letter_reason> reason;  ///< set on dead letters
  int64_t dlq_time_ms = 0;
  std::string dlq_group;
  std::optional<int64_t> expires_at_ms;
};

/// Reads the headers of r, which was read from topic/partition; missing or
/// malformed values take their defaults.
delivery_info read_delivery_info(const storage::record_view& r, std::string_view topic,
                                 int32_t partition);

/// True for the headers the builders own (they are replaced, not copied).
bool is_retry_header(std::string_view key);

}  // namespace actormq::retry
