#include "actors/group/offset_record.h"

#include <limits>
#include <span>
#include <vector>

#include "storage/byte_codec.h"

namespace actormq::group {

namespace {

constexpr uint8_t record_version = 1;
constexpr uint8_t kind_offset = 1;

std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string to_string(const std::vector<uint8_t>& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

bool get_string16(storage::byte_reader& r, std::string& s) {
  uint16_t n = 0;
  return r.get(n) && r.get_bytes(n, s);
}

}  // namespace

std::string encode_offset_key(const offset_key& k) {
  std::vector<uint8_t> out;
  storage::byte_writer w(out);
  w.put<uint8_t>(record_version);
  w.put<uint8_t>(kind_offset);
  w.put<uint16_t>(static_cast<uint16_t>(k.group.size()));
  w.put_bytes(k.group);
  w.put<uint16_t>(static_cast<uint16_t>(k.topic.size()));
  w.put_bytes(k.topic);
  w.put<int32_t>(k.partition);
  return to_string(out);
}

std::string encode_offset_value(const offset_value& v) {
  std::vector<uint8_t> out;
  storage::byte_writer w(out);
  w.put<uint8_t>(record_version);
  w.put<int64_t>(v.offset);
  w.put<int64_t>(v.commit_time_ms);
  w.put<uint32_t>(static_cast<uint32_t>(v.metadata.size()));
  w.put_bytes(v.metadata);
  return to_string(out);
}

std::optional<offset_key> decode_offset_key(std::string_view bytes) {
  storage::byte_reader r(as_bytes(bytes));
  uint8_t version = 0, kind = 0;
  offset_key k;
  if (!r.get(version) || version != record_version || !r.get(kind) || kind != kind_offset) {
    return std::nullopt;
  }
  if (!get_string16(r, k.group) || !get_string16(r, k.topic) || !r.get(k.partition)) {
    return std::nullopt;
  }
  if (!r.at_end() || k.group.empty() || k.topic.empty() || k.partition < 0) return std::nullopt;
  return k;
}

std::optional<offset_value> decode_offset_value(std::string_view bytes) {
  storage::byte_reader r(as_bytes(bytes));
  uint8_t version = 0;
  uint32_t meta_len = 0;
  offset_value v;
  if (!r.get(version) || version != record_version || !r.get(v.offset) ||
      !r.get(v.commit_time_ms) || !r.get(meta_len) || !r.get_bytes(meta_len, v.metadata)) {
    return std::nullopt;
  }
  if (!r.at_end() || v.offset < 0) return std::nullopt;
  return v;
}

void add_offset_record(storage::record_batch_builder& batch, const offset_key& k,
                       const offset_value& v, storage::timestamp_ms now) {
  batch.add(encode_offset_key(k), encode_offset_value(v), now);
}

uint32_t state_partition_of(std::string_view group, uint32_t count) {
  uint32_t h = 2166136261u;
  for (unsigned char c : group) {
    h ^= c;
    h *= 16777619u;
  }
  return count == 0 ? 0 : h % count;
}

}  // namespace actormq::group
