#include "actors/topic/topic_config.h"

#include "actors/key_value_text.h"

#include <fmt/format.h>

namespace actormq {

const char* to_string(full_policy p) {
  return p == full_policy::dead_letter_oldest ? "dead-letter-oldest" : "reject-new";
}

std::optional<full_policy> parse_full_policy(std::string_view text) {
  if (text == "reject-new") return full_policy::reject_new;
  if (text == "dead-letter-oldest") return full_policy::dead_letter_oldest;
  return std::nullopt;
}

std::string topic_config::encode() const {
  return fmt::format(
      "partitions = {}\nretention_ms = {}\nretention_bytes = {}\nsegment_bytes = {}\n"
      "segment_ms = {}\nflush_messages = {}\nflush_ms = {}\nmax_batch_bytes = {}\n"
      "max_messages = {}\nfull_policy = {}\nttl_ms = {}\nreplication_factor = {}\n"
      "min_insync_replicas = {}\nreplicated = {}\nproducer_byte_rate = {}\n"
      "producer_message_rate = {}\n",
      partitions, retention_ms, retention_bytes, segment_bytes, segment_ms, flush_messages,
      flush_ms, max_batch_bytes, max_messages, to_string(when_full), ttl_ms, replication_factor,
      min_insync_replicas, replicated ? 1 : 0, producer_byte_rate, producer_message_rate);
}

std::optional<topic_config> topic_config::decode(std::string_view text) {
  topic_config c;
  for (auto [key, val] : parse_key_value_lines(text)) {
    if (key == "full_policy") {
      auto p = parse_full_policy(val);
      if (!p) return std::nullopt;
      c.when_full = *p;
      continue;
    }
    auto parsed = parse_int64(val);
    if (!parsed) return std::nullopt;
    int64_t v = *parsed;
    if (key == "partitions") {
      if (v < 1 || v > 100000) return std::nullopt;
      c.partitions = static_cast<uint32_t>(v);
    } else if (key == "retention_ms")
      c.retention_ms = v;
    else if (key == "retention_bytes")
      c.retention_bytes = v;
    else if (key == "segment_bytes")
      c.segment_bytes = v;
    else if (key == "segment_ms")
      c.segment_ms = v;
    else if (key == "flush_messages")
      c.flush_messages = v;
    else if (key == "flush_ms")
      c.flush_ms = v;
    else if (key == "max_batch_bytes")
      c.max_batch_bytes = v;
    else if (key == "max_messages") {
      if (v < 0) return std::nullopt;
      c.max_messages = v;
    } else if (key == "ttl_ms") {
      if (v < 0) return std::nullopt;
      c.ttl_ms = v;
    } else if (key == "replication_factor") {
      if (v < 1 || v > 100) return std::nullopt;
      c.replication_factor = static_cast<uint32_t>(v);
    } else if (key == "min_insync_replicas") {
      if (v < 1 || v > 100) return std::nullopt;
      c.min_insync_replicas = static_cast<uint32_t>(v);
    } else if (key == "replicated") {
      if (v != 0 && v != 1) return std::nullopt;
      c.replicated = v == 1;
    } else if (key == "producer_byte_rate") {
      if (v < 0) return std::nullopt;
      c.producer_byte_rate = v;
    } else if (key == "producer_message_rate") {
      if (v < 0) return std::nullopt;
      c.producer_message_rate = v;
    }
  }
  return c;
}

storage::log_config topic_config::log_config() const {
  storage::log_config lc;
  lc.segment_bytes = static_cast<uint64_t>(segment_bytes);
  lc.segment_ms = segment_ms;
  lc.retention_bytes = retention_bytes;
  lc.retention_ms = retention_ms;
  lc.max_batch_bytes = static_cast<size_t>(max_batch_bytes);
  // The partition actor applies the flush policy through the flusher (group
  // commit); the log itself never syncs inline.
  lc.flush = storage::flush_policy::never();
  return lc;
}

storage::flush_policy topic_config::flush_policy() const {
  return {static_cast<uint64_t>(flush_messages < 0 ? 0 : flush_messages), flush_ms};
}

std::optional<std::string> invalid_topic_name(std::string_view name, bool allow_internal) {
  if (name.empty() || name.size() > 200) return "topic names are 1 to 200 characters";
  if (name == "." || name == "..") return "'.' and '..' are not topic names";
  if (!allow_internal && name.starts_with("__")) return "names starting with __ are reserved";
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return fmt::format("character '{}' is not allowed (use A-Z a-z 0-9 . _ -)", c);
  }
  return std::nullopt;
}

}  // namespace actormq
