#include "actors/retry/dead_letter_builder.h"

#include "storage/record_batch_builder.h"

namespace actormq::retry {

namespace {

using storage::record_header;

std::vector<record_header> user_headers(const storage::record_view& r) {
  std::vector<record_header> out;
  for (const auto& h : r.headers) {
    if (is_retry_header(h.key)) continue;
    out.push_back({std::string(h.key),
                   h.value ? std::optional<std::string>(std::string(*h.value)) : std::nullopt});
  }
  return out;
}

void add(std::vector<record_header>& hs, std::string_view key, std::string value) {
  hs.push_back({std::string(key), std::move(value)});
}

void add_origin(std::vector<record_header>& hs, const message_origin& o) {
  add(hs, header::original_topic, o.topic);
  add(hs, header::original_partition, std::to_string(o.partition));
  add(hs, header::original_offset, std::to_string(o.offset));
  add(hs, header::original_timestamp, std::to_string(o.timestamp_ms));
}

std::string one_record(const storage::record_view& r, const std::vector<record_header>& hs,
                       int64_t ts) {
  storage::record_batch_builder b;
  b.add(r.key, r.value, storage::timestamp_ms(ts), hs);
  return b.build();
}

}  // namespace

std::string build_retry_batch(const storage::record_view& r, const delivery_info& info,
                              std::string_view error, int64_t now_ms) {
  auto hs = user_headers(r);
  add(hs, header::delivery_count, std::to_string(info.delivery_count + 1));
  add_origin(hs, info.origin);
  add(hs, header::last_error, std::string(error));
  if (info.redrive_count > 0) add(hs, header::redrive_count, std::to_string(info.redrive_count));
  return one_record(r, hs, now_ms);
}

std::string build_dead_letter_batch(const storage::record_view& r, const delivery_info& info,
                                    dead_letter_reason reason, std::string_view group,
                                    std::string_view error, int64_t now_ms) {
  auto hs = user_headers(r);
  add(hs, header::delivery_count, std::to_string(info.delivery_count));
  add_origin(hs, info.origin);
  add(hs, header::last_error, std::string(error));
  add(hs, header::dlq_reason, to_string(reason));
  add(hs, header::dlq_time, std::to_string(now_ms));
  add(hs, header::dlq_group, std::string(group));
  if (info.redrive_count > 0) add(hs, header::redrive_count, std::to_string(info.redrive_count));
  return one_record(r, hs, now_ms);
}

std::string build_redrive_batch(const storage::record_view& r, const delivery_info& info,
                                int64_t now_ms) {
  auto hs = user_headers(r);
  add(hs, header::redrive_count, std::to_string(info.redrive_count + 1));
  return one_record(r, hs, now_ms);
}

std::string build_copy_batch(const storage::record_view& r) {
  std::vector<record_header> hs;
  for (const auto& h : r.headers) {
    hs.push_back({std::string(h.key),
                  h.value ? std::optional<std::string>(std::string(*h.value)) : std::nullopt});
  }
  return one_record(r, hs, r.timestamp());
}

}  // namespace actormq::retry
