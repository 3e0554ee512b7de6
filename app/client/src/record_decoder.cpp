#include "record_decoder.h"

#include <charconv>
#include <chrono>
#include <string_view>

#include "actormq/client/dead_letters.h"
#include "storage/record_batch.h"

namespace actormq::client::detail {

namespace {

std::optional<int64_t> header_number(const message_view& m, std::string_view key) {
  std::optional<std::string_view> v;
  for (const auto& h : m.headers) {
    if (h.key == key) {
      v = h.value;
      break;
    }
  }
  if (!v) return std::nullopt;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc{} || end != v->data() + v->size()) return std::nullopt;
  return n;
}

}  // namespace

message_view to_message_view(const storage::record_view& r, std::string_view topic,
                             uint32_t partition) {
  message_view m;
  m.topic = topic;
  m.partition = partition;
  m.offset = r.record_offset();
  m.timestamp_ms = r.timestamp();
  m.key = r.key;
  m.value = r.value;
  size_t others = r.headers.size();
  for (const auto& hv : r.headers) {
    if (hv.key != message_id::header_key) continue;
    if (hv.value && m.id.empty()) {
      if (auto id = message_id::from_header(*hv.value)) m.id = *id;
    }
    --others;
  }
  if (others > 0) {
    m.headers.reserve(others);
    for (const auto& hv : r.headers) {
      if (hv.key != message_id::header_key) m.headers.push_back({hv.key, hv.value});
    }
  }
  return m;
}

message to_message(const storage::record_view& r, std::string_view topic, uint32_t partition) {
  return to_message_view(r, topic, partition).to_message();
}

bool record_decoder::is_expired(const message_view& m, int64_t now,
                                std::optional<int64_t> ttl) const {
  if (!dead_letter_expired_) return false;
  // born + ttl <= now, written so that no timestamp a producer may set
  // (any int64) overflows: now is the clock's, ttl positive.
  if (m.headers.empty()) return ttl && m.timestamp_ms <= now - *ttl;
  if (auto at = header_number(m, retry_header::expires_at); at && *at <= now) return true;
  if (!ttl) return false;
  auto born = header_number(m, retry_header::original_timestamp).value_or(m.timestamp_ms);
  return born <= now - *ttl;
}

record_decoder::outcome record_decoder::decode(fetched& f, int64_t& pos,
                                               std::deque<buffered_view>& out,
                                               std::vector<message>& expired) const {
  auto owner = std::make_shared<fetched_buffer>(fetched_buffer{f.tp.topic, std::move(f.bytes)});
  std::string_view topic = owner->topic;
  auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(owner->bytes.data()),
                                        owner->bytes.size());
  // Expiry inputs once per fetch, not per message.
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  std::optional<int64_t> ttl;
  if (auto t = topic_ttl_ms_.find(f.tp.topic); t != topic_ttl_ms_.end()) ttl = t->second;
  error bad;
  size_t used = storage::for_each_batch(bytes, [&](const storage::batch_header& h,
                                                   std::span<const uint8_t> batch) {
    if (bad) return;
    if (check_crcs_) {
      auto v = storage::validate_batch(batch, batch.size(), storage::validation::header_and_crc);
      if (!v) {
        bad = error(errc::protocol_error, "corrupt batch at offset " +
                                              std::to_string(h.base_offset()) + " of " +
                                              f.tp.topic + "-" + std::to_string(f.tp.partition) +
                                              ": " + v.error().message());
        return;
      }
    }
    if (h.next_offset()() <= pos) return;
    if (!h.is_control()) {
      auto st = storage::for_each_record(batch, [&](const storage::record_view& r) {
        if (r.record_offset() < pos) return;
        auto m = to_message_view(r, topic, f.tp.partition);
        if (is_expired(m, now, ttl)) {
          expired.push_back(m.to_message());
          return;
        }
        out.push_back({std::move(m), owner});
      });
      if (!st) {
        bad = error(errc::protocol_error,
                    "undecodable batch at offset " + std::to_string(h.base_offset()));
        return;
      }
    }
    pos = h.next_offset()();
  });
  return {bad, !bad && used == 0 && !owner->bytes.empty()};
}

}  // namespace actormq::client::detail
