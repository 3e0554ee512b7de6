#include "storage/record_batch.h"

#include <limits>

#include "storage/crc32c.h"
#include "storage/errc.h"
#include "storage/record_reader.h"

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

// Parses the records of a whole batch; fn may be null (validation only).
status parse_records(std::span<const uint8_t> batch, const batch_header& h,
                     const std::function<void(const record_view&)>* fn) {
  record_reader rd(batch, h);
  record_view r;
  while (rd.next(r, fn != nullptr)) {
    if (fn) (*fn)(r);
  }
  if (!rd.ok()) return errc::invalid_batch;
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
