#pragma once
// Settings of one topic, persisted as <data>/topics/<name>/topic.conf:
// text lines "key = value" (written atomically), keys as the field names.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/log_config.h"

namespace actormq {

struct topic_config {
  uint32_t partitions = 1;
  int64_t retention_ms = 7 * 24 * 3600 * 1000ll;  ///< -1 = forever
  int64_t retention_bytes = -1;                    ///< per partition; -1 = unbounded
  int64_t segment_bytes = 256ll << 20;
  int64_t segment_ms = 7 * 24 * 3600 * 1000ll;
  int64_t flush_messages = 0;  ///< 0 = no count rule, 1 = every append
  int64_t flush_ms = 1000;     ///< 0 = no time rule
  int64_t max_batch_bytes = 16ll << 20;

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
