#include "actors/txn/txn_state_record.h"

#include <span>
#include <vector>

#include "storage/byte_codec.h"

namespace actormq::txn {

namespace {

constexpr uint8_t record_version = 1;
/// A half that carries the producer's request id.
constexpr uint8_t half_with_request = 2;
constexpr uint8_t kind_event = 1;
constexpr uint8_t kind_id_floor = 2;

std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string text_of(const std::vector<uint8_t>& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

bool get_string16(storage::byte_reader& r, std::string& s) {
  uint16_t n = 0;
  return r.get(n) && r.get_bytes(n, s);
}

}  // namespace

std::string encode_txn_key(const txn_event_record& e) {
  std::vector<uint8_t> out;
  storage::byte_writer w(out);
  w.put<uint8_t>(record_version);
  bool floor = e.type == event_type::id_floor;
  w.put<uint8_t>(floor ? kind_id_floor : kind_event);
  w.put<uint64_t>(floor ? 0 : e.id);
  return text_of(out);
}

std::string encode_txn_value(const txn_event_record& e) {
  std::vector<uint8_t> out;
  storage::byte_writer w(out);
  const bool with_request = e.type == event_type::half && !e.request_id.empty();
  w.put<uint8_t>(with_request ? half_with_request : record_version);
  if (e.type == event_type::id_floor) {
    w.put<uint64_t>(e.id);
    return text_of(out);
  }
  w.put<uint8_t>(static_cast<uint8_t>(e.type));
  w.put<int64_t>(e.time_ms);
  switch (e.type) {
    case event_type::half:
      w.put<uint16_t>(static_cast<uint16_t>(e.half.group.size()));
      w.put_bytes(e.half.group);
      w.put<uint16_t>(static_cast<uint16_t>(e.half.topic.size()));
      w.put_bytes(e.half.topic);
      w.put<uint32_t>(e.half.partition);
      w.put<int64_t>(e.half.deliver_at_ms);
      w.put<int64_t>(e.half.delay_ms);
      w.put<uint32_t>(static_cast<uint32_t>(e.half.batch.size()));
      w.put_bytes(e.half.batch);
      if (with_request) {
        w.put<uint16_t>(static_cast<uint16_t>(e.request_id.size()));
        w.put_bytes(e.request_id);
      }
      break;
    case event_type::decision:
      w.put<uint8_t>(static_cast<uint8_t>(e.decision));
      break;
    case event_type::check:
      w.put<uint32_t>(e.count);
      w.put<int64_t>(e.next_check_ms);
      break;
    case event_type::applied:
    case event_type::id_floor:
      break;
  }
  return text_of(out);
}

std::optional<txn_event_record> decode_txn_record(std::string_view key, std::string_view value) {
  storage::byte_reader k(bytes_of(key));
  uint8_t version = 0, kind = 0;
  txn_event_record e;
  if (!k.get(version) || version != record_version || !k.get(kind) || !k.get(e.id) || !k.at_end()) {
    return std::nullopt;
  }
  storage::byte_reader r(bytes_of(value));
  if (!r.get(version) || (version != record_version && version != half_with_request)) {
    return std::nullopt;
  }
  if (kind == kind_id_floor) {
    if (version != record_version) return std::nullopt;
    e.type = event_type::id_floor;
    if (!r.get(e.id) || !r.at_end()) return std::nullopt;
    return e;
  }
  if (kind != kind_event) return std::nullopt;
  uint8_t type = 0;
  if (!r.get(type) || !r.get(e.time_ms)) return std::nullopt;
  if (version == half_with_request && type != static_cast<uint8_t>(event_type::half)) {
    return std::nullopt;
  }
  switch (type) {
    case static_cast<uint8_t>(event_type::half): {
      e.type = event_type::half;
      uint32_t n = 0;
      if (!get_string16(r, e.half.group) || !get_string16(r, e.half.topic) ||
          !r.get(e.half.partition) || !r.get(e.half.deliver_at_ms) || !r.get(e.half.delay_ms) ||
          !r.get(n) || !r.get_bytes(n, e.half.batch)) {
        return std::nullopt;
      }
      if (e.half.group.empty() || e.half.topic.empty()) return std::nullopt;
      if (version == half_with_request &&
          (!get_string16(r, e.request_id) || e.request_id.empty())) {
        return std::nullopt;
      }
      break;
    }
    case static_cast<uint8_t>(event_type::decision): {
      e.type = event_type::decision;
      uint8_t d = 0;
      if (!r.get(d) || d < 1 || d > 3) return std::nullopt;
      e.decision = static_cast<storage::txn_decision>(d);
      break;
    }
    case static_cast<uint8_t>(event_type::check):
      e.type = event_type::check;
      if (!r.get(e.count) || !r.get(e.next_check_ms)) return std::nullopt;
      break;
    case static_cast<uint8_t>(event_type::applied):
      e.type = event_type::applied;
      break;
    default:
      return std::nullopt;
  }
  if (!r.at_end()) return std::nullopt;
  return e;
}

void add_txn_record(storage::record_batch_builder& batch, const txn_event_record& e) {
  auto key = encode_txn_key(e);
  auto value = encode_txn_value(e);
  batch.add(std::string_view(key), std::string_view(value), storage::timestamp_ms(e.time_ms), {});
}

}  // namespace actormq::txn
