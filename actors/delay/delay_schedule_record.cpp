#include "actors/delay/delay_schedule_record.h"

#include <span>

#include "actors/group/offset_record.h"
#include "storage/byte_codec.h"

namespace actormq::delay {

namespace {

constexpr uint8_t record_version = 1;
// Version 2 of an envelope value ends in its delay class; of a dispatch
// value, each entry ends in its envelope's class and record count.
constexpr uint8_t class_version = 2;

std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string text_of(const std::vector<uint8_t>& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

void put_string16(storage::byte_writer& w, const std::string& s) {
  w.put<uint16_t>(static_cast<uint16_t>(s.size()));
  w.put_bytes(s);
}

bool get_topic(storage::byte_reader& r, std::string& s) {
  uint16_t n = 0;
  return r.get(n) && n > 0 && r.get_bytes(n, s);
}

std::vector<uint8_t> start_value(uint8_t version = record_version) {
  std::vector<uint8_t> out;
  out.push_back(version);
  return out;
}

bool decode_envelope(storage::byte_reader& r, uint8_t version, envelope_record& e) {
  uint32_t n = 0;
  if (!r.get(e.due_ms) || !get_topic(r, e.topic) || !r.get(e.partition) || !r.get(n) ||
      !r.get_bytes(n, e.batch)) {
    return false;
  }
  uint8_t cls = 0;
  if (version == class_version && !r.get(cls)) return false;
  e.cls = static_cast<delay_class>(cls);
  return true;
}

bool decode_dispatch(storage::byte_reader& r, uint8_t version, dispatch_record& d) {
  uint16_t targets = 0;
  if (!r.get(d.number) || !r.get(targets) || targets == 0) return false;
  d.targets.resize(targets);
  for (auto& t : d.targets) {
    uint32_t entries = 0;
    if (!get_topic(r, t.topic) || !r.get(t.partition) || !r.get(t.first_seq) || !r.get(t.records) ||
        !r.get(entries) || entries == 0) {
      return false;
    }
    // Each entry takes 16 bytes: a count past the end fails below without
    // reserving for it first.
    for (uint32_t i = 0; i < entries; ++i) {
      dispatch_entry e;
      if (!r.get(e.offset) || !r.get(e.due_ms)) return false;
      if (version == class_version) {
        uint8_t cls = 0;
        if (!r.get(cls) || !r.get(e.records)) return false;
        e.cls = static_cast<delay_class>(cls);
      }
      t.entries.push_back(e);
    }
  }
  return true;
}

bool decode_sequences(storage::byte_reader& r, sequences_record& s) {
  uint32_t targets = 0;
  if (!r.get(s.next_dispatch) || !r.get(s.completed) || !r.get(targets)) return false;
  for (uint32_t i = 0; i < targets; ++i) {
    target t;
    int32_t seq = 0;
    if (!get_topic(r, t.first) || !r.get(t.second) || !r.get(seq)) return false;
    s.next_seq[std::move(t)] = seq;
  }
  return true;
}

}  // namespace

uint32_t schedule_partition_of(std::string_view topic, uint32_t partition, uint32_t count) {
  std::string k(topic);
  k += '\n';
  k += std::to_string(partition);
  return group::state_partition_of(k, count);
}

std::string encode_key(schedule_kind kind) {
  return std::string{static_cast<char>(record_version), static_cast<char>(kind)};
}

std::string encode_value(const envelope_record& e) {
  auto out = start_value(class_version);
  storage::byte_writer w(out);
  w.put<int64_t>(e.due_ms);
  put_string16(w, e.topic);
  w.put<uint32_t>(e.partition);
  w.put<uint32_t>(static_cast<uint32_t>(e.batch.size()));
  w.put_bytes(e.batch);
  w.put<uint8_t>(static_cast<uint8_t>(e.cls));
  return text_of(out);
}

std::string encode_value(const dispatch_record& d) {
  auto out = start_value(class_version);
  storage::byte_writer w(out);
  w.put<uint64_t>(d.number);
  w.put<uint16_t>(static_cast<uint16_t>(d.targets.size()));
  for (const auto& t : d.targets) {
    put_string16(w, t.topic);
    w.put<uint32_t>(t.partition);
    w.put<int32_t>(t.first_seq);
    w.put<uint32_t>(t.records);
    w.put<uint32_t>(static_cast<uint32_t>(t.entries.size()));
    for (const auto& e : t.entries) {
      w.put<int64_t>(e.offset);
      w.put<int64_t>(e.due_ms);
      w.put<uint8_t>(static_cast<uint8_t>(e.cls));
      w.put<uint32_t>(e.records);
    }
  }
  return text_of(out);
}

std::string encode_value(const progress_record& p) {
  auto out = start_value();
  storage::byte_writer w(out);
  w.put<uint64_t>(p.completed);
  w.put<int64_t>(p.bucket);
  return text_of(out);
}

std::string encode_value(const sequences_record& s) {
  auto out = start_value();
  storage::byte_writer w(out);
  w.put<uint64_t>(s.next_dispatch);
  w.put<uint64_t>(s.completed);
  w.put<uint32_t>(static_cast<uint32_t>(s.next_seq.size()));
  for (const auto& [t, seq] : s.next_seq) {
    put_string16(w, t.first);
    w.put<uint32_t>(t.second);
    w.put<int32_t>(seq);
  }
  return text_of(out);
}

std::optional<schedule_record> decode_schedule_record(std::string_view key,
                                                      std::string_view value) {
  if (key.size() != 2 || static_cast<uint8_t>(key[0]) != record_version) return std::nullopt;
  storage::byte_reader r(bytes_of(value));
  uint8_t version = 0;
  if (!r.get(version)) return std::nullopt;
  const auto kind = static_cast<uint8_t>(key[1]);
  const bool classed = kind == static_cast<uint8_t>(schedule_kind::envelope) ||
                       kind == static_cast<uint8_t>(schedule_kind::dispatch);
  if (version != record_version && !(classed && version == class_version)) return std::nullopt;
  schedule_record out;
  bool ok = false;
  switch (static_cast<uint8_t>(key[1])) {
    case static_cast<uint8_t>(schedule_kind::envelope):
      out.kind = schedule_kind::envelope;
      ok = decode_envelope(r, version, out.envelope);
      break;
    case static_cast<uint8_t>(schedule_kind::dispatch):
      out.kind = schedule_kind::dispatch;
      ok = decode_dispatch(r, version, out.dispatch);
      break;
    case static_cast<uint8_t>(schedule_kind::progress):
      out.kind = schedule_kind::progress;
      ok = r.get(out.progress.completed) && r.get(out.progress.bucket);
      break;
    case static_cast<uint8_t>(schedule_kind::sequences):
      out.kind = schedule_kind::sequences;
      ok = decode_sequences(r, out.sequences);
      break;
    default:
      return std::nullopt;
  }
  if (!ok || !r.at_end()) return std::nullopt;
  return out;
}

}  // namespace actormq::delay
