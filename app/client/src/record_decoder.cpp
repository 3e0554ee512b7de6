#include "record_decoder.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <string_view>

#include "actormq/client/dead_letters.h"
#include "storage/record_batch.h"
#include "storage/record_reader.h"

namespace actormq::client::detail {

namespace {

// hv.key == message_id::header_key, as a compare of a known length.
bool is_id_key(std::string_view key) {
  static_assert(message_id::header_key.size() == 6);
  return key.size() == 6 && std::memcmp(key.data(), message_id::header_key.data(), 6) == 0;
}

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

/// r as a view into its batch's bytes, written into m (default-constructed):
/// its amq-id header becomes m.id instead of one of m.headers.
void fill_message_view(const storage::record_view& r, std::string_view topic, uint32_t partition,
                       message_view& m) {
  m.topic = topic;
  m.partition = partition;
  m.offset = r.record_offset();
  m.timestamp_ms = r.timestamp();
  m.key = r.key;
  m.value = r.value;
  size_t others = r.headers.size();
  for (const auto& hv : r.headers) {
    if (!is_id_key(hv.key)) continue;
    if (hv.value && m.id.empty()) {
      if (auto id = message_id::from_header(*hv.value)) m.id = *id;
    }
    --others;
  }
  if (others > 0) {
    m.headers.reserve(others);
    for (const auto& hv : r.headers) {
      if (!is_id_key(hv.key)) m.headers.push_back({hv.key, hv.value});
    }
  }
}

}  // namespace

message to_message(const storage::record_view& r, std::string_view topic, uint32_t partition) {
  message_view m;
  fill_message_view(r, topic, partition, m);
  return m.to_message();
}

bool record_decoder::expired_by_headers(const message_view& m, int64_t now,
                                        std::optional<int64_t> ttl) const {
  if (auto at = header_number(m, retry_header::expires_at); at && *at <= now) return true;
  if (!ttl) return false;
  auto born = header_number(m, retry_header::original_timestamp).value_or(m.timestamp_ms);
  return born <= now - *ttl;
}

record_decoder::outcome record_decoder::decode(fetched& f, int64_t& pos, decoded_queue& out,
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
  std::vector<message_view> views;
  storage::record_view rec;  // its headers' vector reused record to record
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
    // base + last delta + 1 without overflow (validate_batch checks it, but
    // only when CRCs are checked).
    int64_t next = 0;
    if (__builtin_add_overflow(h.base_offset(), int64_t{h.last_offset_delta} + 1, &next)) {
      bad = error(errc::protocol_error,
                  "batch at offset " + std::to_string(h.base_offset()) + " past the last offset");
      return;
    }
    if (next <= pos) return;
    if (!h.is_control()) {
      // Room for the batch's records, growing geometrically; its count is
      // the header's (checked against the records as they are read), at most
      // one a 7 bytes (the smallest record) so a lying header reserves no more.
      size_t want =
          views.size() +
          std::min<size_t>(static_cast<size_t>(std::max(h.record_count, 0)), batch.size() / 7);
      if (want > views.capacity()) views.reserve(std::max(want, 2 * views.capacity()));
      storage::record_reader rd(batch, h);
      size_t before = views.size(), expired_before = expired.size();
      while (rd.next(rec)) {
        if (rec.record_offset() < pos) continue;
        fill_message_view(rec, topic, f.tp.partition, views.emplace_back());
        if (is_expired(views.back(), now, ttl)) {
          expired.push_back(views.back().to_message());
          views.pop_back();
        }
      }
      if (!rd.ok()) {
        // None of it: the batch is fetched again from its start.
        views.resize(before);
        expired.resize(expired_before);
        bad = error(errc::protocol_error,
                    "undecodable batch at offset " + std::to_string(h.base_offset()));
        return;
      }
    }
    pos = next;
  });
  bool no_whole_batch = !bad && used == 0 && !owner->bytes.empty();
  out.push(std::move(owner), f.tp.partition, std::move(views));
  return {bad, no_whole_batch};
}

}  // namespace actormq::client::detail
