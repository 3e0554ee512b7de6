#include "actors/retry/retry_headers.h"

#include <charconv>

namespace actormq::retry {

namespace {

template <typename T>
std::optional<T> number(const std::optional<std::string_view>& v) {
  if (!v) return std::nullopt;
  T out{};
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc{} || end != v->data() + v->size()) return std::nullopt;
  return out;
}

}  // namespace

const char* to_string(dead_letter_reason r) {
  switch (r) {
    case dead_letter_reason::max_retries:
      return "max_retries";
    case dead_letter_reason::rejected:
      return "rejected";
    case dead_letter_reason::ttl_expired:
      return "ttl_expired";
    case dead_letter_reason::queue_full:
      return "queue_full";
  }
  return "unknown";
}

std::optional<dead_letter_reason> parse_reason(std::string_view text) {
  for (auto r : {dead_letter_reason::max_retries, dead_letter_reason::rejected,
                 dead_letter_reason::ttl_expired, dead_letter_reason::queue_full}) {
    if (text == to_string(r)) return r;
  }
  return std::nullopt;
}

bool is_retry_header(std::string_view key) {
  return key.starts_with("amq-") && key != header::expires_at && key != header::message_id;
}

delivery_info read_delivery_info(const storage::record_view& r, std::string_view topic,
                                 int32_t partition) {
  delivery_info d;
  d.origin = {std::string(topic), partition, r.record_offset(), r.timestamp()};
  std::optional<std::string> o_topic;
  std::optional<int32_t> o_partition;
  std::optional<int64_t> o_offset, o_ts;
  for (const auto& h : r.headers) {
    const auto& v = h.value;
    if (h.key == header::delivery_count) {
      if (auto n = number<uint32_t>(v); n && *n > 0) d.delivery_count = *n;
    } else if (h.key == header::original_topic) {
      if (v && !v->empty()) o_topic = std::string(*v);
    } else if (h.key == header::original_partition) {
      o_partition = number<int32_t>(v);
    } else if (h.key == header::original_offset) {
      o_offset = number<int64_t>(v);
    } else if (h.key == header::original_timestamp) {
      o_ts = number<int64_t>(v);
    } else if (h.key == header::last_error) {
      d.last_error = v ? std::string(*v) : std::string();
    } else if (h.key == header::dlq_reason) {
      if (v) d.reason = parse_reason(*v);
    } else if (h.key == header::dlq_time) {
      d.dlq_time_ms = number<int64_t>(v).value_or(0);
    } else if (h.key == header::dlq_group) {
      d.dlq_group = v ? std::string(*v) : std::string();
    } else if (h.key == header::redrive_count) {
      d.redrive_count = number<uint32_t>(v).value_or(0);
    } else if (h.key == header::expires_at) {
      d.expires_at_ms = number<int64_t>(v);
    }
  }
  // The origin headers are written together; take them only when complete.
  if (o_topic && o_partition && o_offset) {
    d.origin = {*o_topic, *o_partition, *o_offset, o_ts.value_or(r.timestamp())};
  }
  return d;
}

}  // namespace actormq::retry
