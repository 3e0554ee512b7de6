#include "storage/record_batch.h"

#include <limits>

#include "storage/crc32c.h"
#include "storage/errc.h"
#include "storage/varint.h"

namespace actormq::storage {

namespace L = batch_layout;

batch_header decode_header(std::span<const uint8_t> b) {
  const uint8_t* p = b.data();
  batch_header h;
  h.base_offset = offset(load_le<int64_t>(p + L::base_offset));
  h.batch_length = load_le<int32_t>(p + L::batch_length);
  h.crc = load_le<uint32_t>(p + L::crc);
  h.magic = p[L::magic];
  h.attributes = load_le<uint16_t>(p + L::attributes);
  h.last_offset_delta = load_le<int32_t>(p + L::last_offset_delta);
  h.first_timestamp = timestamp_ms(load_le<int64_t>(p + L::first_timestamp));
  h.max_timestamp = timestamp_ms(load_le<int64_t>(p + L::max_timestamp));
  h.producer_id = load_le<int64_t>(p + L::producer_id);
  h.producer_epoch = load_le<int16_t>(p + L::producer_epoch);
  h.base_sequence = load_le<int32_t>(p + L::base_sequence);
  h.record_count = load_le<int32_t>(p + L::record_count);
  return h;
}

uint32_t compute_crc(std::span<const uint8_t> batch) {
  return crc32c(batch.data() + L::magic, batch.size() - L::magic);
}

void store_crc(std::span<uint8_t> batch) {
  store_le<uint32_t>(batch.data() + L::crc, compute_crc(batch));
}

namespace {

struct record_cursor {
  std::span<const uint8_t> bytes;
  size_t pos = 0;

  std::optional<int64_t> varint() { return varint::decode(bytes, pos); }

  // Reads a length-prefixed byte string; nullopt-in-optional for length -1.
  bool bytes_field(std::optional<std::string_view>& out, bool nullable) {
    auto len = varint();
    if (!len) return false;
    if (*len == -1 && nullable) {
      out.reset();
      return true;
    }
    if (*len < 0 || static_cast<uint64_t>(*len) > bytes.size() - pos) return false;
    out = std::string_view(reinterpret_cast<const char*>(bytes.data() + pos),
                           static_cast<size_t>(*len));
    pos += static_cast<size_t>(*len);
    return true;
  }
};

// Parses the records of a whole batch; fn may be null (validation only).
status parse_records(std::span<const uint8_t> batch, const batch_header& h,
                     const std::function<void(const record_view&)>* fn) {
  record_cursor c{batch.subspan(0, h.size_bytes()), L::header_size};
  record_view r;
  int64_t last_delta = -1;
  for (int32_t i = 0; i < h.record_count; ++i) {
    auto len = c.varint();
    if (!len || *len < 1 || static_cast<uint64_t>(*len) > c.bytes.size() - c.pos) {
      return errc::invalid_batch;
    }
    size_t end = c.pos + static_cast<size_t>(*len);
    record_cursor rc{c.bytes.subspan(0, end), c.pos};
    rc.pos += 1;  // attributes
    auto ts_delta = rc.varint();
    auto off_delta = rc.varint();
    // Offsets and timestamps must exist: no overflow of base + delta.
    int64_t record_offset = 0, record_ts = 0;
    if (!ts_delta || !off_delta || *off_delta <= last_delta || *off_delta > h.last_offset_delta ||
        __builtin_add_overflow(h.base_offset(), *off_delta, &record_offset) ||
        __builtin_add_overflow(h.first_timestamp(), *ts_delta, &record_ts)) {
      return errc::invalid_batch;
    }
    last_delta = *off_delta;
    if (!rc.bytes_field(r.key, true) || !rc.bytes_field(r.value, true)) {
      return errc::invalid_batch;
    }
    auto nheaders = rc.varint();
    if (!nheaders || *nheaders < 0 || static_cast<uint64_t>(*nheaders) > end - rc.pos) {
      return errc::invalid_batch;
    }
    r.headers.clear();
    for (int64_t k = 0; k < *nheaders; ++k) {
      std::optional<std::string_view> hk, hv;
      if (!rc.bytes_field(hk, false) || !rc.bytes_field(hv, true)) return errc::invalid_batch;
      if (fn) r.headers.push_back({*hk, hv});
    }
    if (rc.pos != end) return errc::invalid_batch;
    c.pos = end;
    if (fn) {
      r.record_offset = offset(record_offset);
      r.timestamp = timestamp_ms(record_ts);
      (*fn)(r);
    }
  }
  if (c.pos != h.size_bytes()) return errc::invalid_batch;
  return {};
}

}  // namespace

result<batch_header> validate_batch(std::span<const uint8_t> bytes, size_t max_batch_bytes,
                                    validation depth) {
  if (bytes.size() < L::header_size) return errc::invalid_batch;
  batch_header h = decode_header(bytes);
  if (h.batch_length < static_cast<int32_t>(L::header_size - L::length_prefix)) {
    return errc::invalid_batch;
  }
  // A length past the bytes at hand is malformed whatever its size; only a
  // batch that is really there can be "too large".
  if (h.size_bytes() > bytes.size()) return errc::invalid_batch;
  if (h.size_bytes() > max_batch_bytes) return errc::batch_too_large;
  if (h.magic != L::current_magic || (h.attributes & ~batch_attr::known_bits) != 0 ||
      (h.attributes & batch_attr::codec_mask) != 0) {
    return errc::invalid_batch;
  }
  if (h.record_count < 1 || h.last_offset_delta != h.record_count - 1 ||
      h.max_timestamp < h.first_timestamp) {
    return errc::invalid_batch;
  }
  // Its offsets must exist: base + last delta + 1 (next_offset()) may not
  // overflow (found by the record_batch fuzzer). Producers send base 0; the
  // log assigns the real one.
  if (h.base_offset < offset(0) ||
      h.base_offset() > std::numeric_limits<int64_t>::max() - h.record_count) {
    return errc::invalid_batch;
  }
  if (compute_crc(bytes.subspan(0, h.size_bytes())) != h.crc) return errc::crc_mismatch;
  if (depth == validation::full_records) {
    if (auto st = parse_records(bytes, h, nullptr); !st) return st.error();
  }
  return h;
}

status for_each_record(std::span<const uint8_t> batch,
                       const std::function<void(const record_view&)>& fn) {
  if (batch.size() < L::header_size) return errc::invalid_batch;
  batch_header h = decode_header(batch);
  if (h.batch_length < 0 || h.size_bytes() > batch.size()) return errc::invalid_batch;
  return parse_records(batch, h, &fn);
}

size_t for_each_batch(
    std::span<const uint8_t> bytes,
    const std::function<void(const batch_header&, std::span<const uint8_t>)>& fn) {
  size_t pos = 0;
  while (bytes.size() - pos >= L::header_size) {
    batch_header h = decode_header(bytes.subspan(pos));
    if (h.batch_length < 0 || h.size_bytes() > bytes.size() - pos) break;
    fn(h, bytes.subspan(pos, h.size_bytes()));
    pos += h.size_bytes();
  }
  return pos;
}

uint64_t count_records(std::span<const uint8_t> bytes) {
  uint64_t records = 0;
  size_t pos = 0;
  while (pos + L::header_size <= bytes.size()) {
    auto length = load_le<int32_t>(bytes.data() + pos + L::batch_length);
    auto count = load_le<int32_t>(bytes.data() + pos + L::record_count);
    if (length <= 0 || count <= 0) break;
    records += static_cast<uint64_t>(count);
    pos += L::length_prefix + static_cast<size_t>(length);
  }
  return records;
}

}  // namespace actormq::storage
