#pragma once
// record_reader: reads the records of one whole batch (record_batch.h has
// the layout) a record at a time, checking each as it goes: its length
// within the batch, its fields within its length, offset deltas that rise
// and stay within last_offset_delta, base + delta without overflow. It is
// the one record parser: for_each_record() and validate_batch() use it, and
// the client's decoder uses it inline to skip a call per record.
//
// Usage:
//   record_reader rd(batch, h);
//   record_view r;
//   while (rd.next(r)) use(r);
//   if (!rd.ok()) ... invalid_batch
//
// Plain C++, no allocation but r.headers' growth.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "storage/record_batch.h"
#include "storage/varint.h"

namespace actormq::storage {

class record_reader {
 public:
  /// batch: a whole batch, at least h.size_bytes() long (for_each_batch()
  /// gives such); h: its decoded header.
  /// A length shorter than the header (possible when nothing validated the
  /// batch) reads as a malformed batch.
  record_reader(std::span<const uint8_t> batch, const batch_header& h)
      : p_(batch.data() + std::min(batch_layout::header_size, h.size_bytes())),
        end_(batch.data() + h.size_bytes()),
        h_(h),
        left_(h.record_count),
        failed_(h.size_bytes() < batch_layout::header_size) {}

  /// Reads the next record into r (its views point into the batch): true.
  /// False when the records are done or one is malformed: ok() tells which.
  /// With headers false, r.headers is left empty but the headers are still
  /// checked.
  bool next(record_view& r, bool headers = true) {
    if (left_ <= 0 || failed_) return false;
    if (!read_record(r, headers)) {
      failed_ = true;
      return false;
    }
    --left_;
    return true;
  }

  /// After next() returned false: every record parsed and they fill the
  /// batch exactly.
  bool ok() const { return !failed_ && left_ <= 0 && p_ == end_; }

 private:
  [[gnu::always_inline]] bool read_record(record_view& r, bool headers) {
    int64_t len = 0;
    if (!varint::decode(p_, end_, len) || len < 1 || len > end_ - p_) return false;
    const uint8_t* end = p_ + len;
    const uint8_t* p = p_ + 1;  // attributes
    int64_t ts_delta = 0, off_delta = 0;
    if (!varint::decode(p, end, ts_delta) || !varint::decode(p, end, off_delta)) return false;
    // Offsets and timestamps must exist: no overflow of base + delta.
    int64_t record_offset = 0, record_ts = 0;
    if (off_delta <= last_delta_ || off_delta > h_.last_offset_delta ||
        __builtin_add_overflow(h_.base_offset(), off_delta, &record_offset) ||
        __builtin_add_overflow(h_.first_timestamp(), ts_delta, &record_ts)) {
      return false;
    }
    last_delta_ = off_delta;
    if (!bytes_field(p, end, r.key, true) || !bytes_field(p, end, r.value, true)) return false;
    int64_t nheaders = 0;
    if (!varint::decode(p, end, nheaders) || nheaders < 0 || nheaders > end - p) return false;
    r.headers.clear();
    for (int64_t k = 0; k < nheaders; ++k) {
      std::optional<std::string_view> hk, hv;
      if (!bytes_field(p, end, hk, false) || !bytes_field(p, end, hv, true)) return false;
      if (headers) r.headers.push_back({*hk, hv});
    }
    if (p != end) return false;
    p_ = end;
    r.record_offset = offset(record_offset);
    r.timestamp = timestamp_ms(record_ts);
    return true;
  }

  // Forced inline: bytes_field runs several times a record, and GCC's
  // heuristics otherwise keep it out of line in the client's decoder.
  // A length-prefixed byte string; nullopt for length -1 when nullable.
  [[gnu::always_inline]] static bool bytes_field(const uint8_t*& p, const uint8_t* end,
                                                 std::optional<std::string_view>& out,
                                                 bool nullable) {
    int64_t len = 0;
    if (!varint::decode(p, end, len)) return false;
    if (len == -1 && nullable) {
      out.reset();
      return true;
    }
    if (len < 0 || len > end - p) return false;
    out = std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
    p += len;
    return true;
  }

  const uint8_t* p_;
  const uint8_t* end_;
  batch_header h_;
  int32_t left_;
  int64_t last_delta_ = -1;
  bool failed_ = false;
};

}  // namespace actormq::storage
