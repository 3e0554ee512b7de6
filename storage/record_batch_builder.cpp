#include "storage/record_batch_builder.h"

#include <cassert>
#include <cstring>

#include "storage/record_batch.h"
#include "storage/varint.h"

namespace actormq::storage {

namespace L = batch_layout;

record_batch_builder::record_batch_builder() {
  reset();
}

void record_batch_builder::reset() {
  reset(std::string());
}

void record_batch_builder::reset(std::string buffer) {
  buf_ = std::move(buffer);
  buf_.assign(L::header_size, '\0');
  count_ = 0;
  first_ts_ = max_ts_ = timestamp_ms(0);
  producer_id_ = -1;
  producer_epoch_ = -1;
  base_sequence_ = -1;
  attributes_ = 0;
}

void record_batch_builder::set_producer(int64_t producer_id, int16_t epoch, int32_t base_sequence) {
  producer_id_ = producer_id;
  producer_epoch_ = epoch;
  base_sequence_ = base_sequence;
}

namespace {
size_t bytes_field_size(std::optional<std::string_view> v) {
  return v ? varint::size(static_cast<int64_t>(v->size())) + v->size() : varint::size(-1);
}
}  // namespace

/// Gathers a record's small fields (varints, short keys, header keys and
/// values) on the stack and appends them to the batch in one call, a long
/// field by itself: a record with a long value is three appends, not a
/// dozen (W2's client spent about 600 instructions a record in the builder,
/// docs/benchmarks.md "W2 and the scheduler"). flush() before the batch's
/// string is read or appended to otherwise.
class record_batch_builder::field_writer {
 public:
  explicit field_writer(std::string& out) : out_(out) {}
  ~field_writer() { assert(n_ == 0 && "field_writer destroyed with bytes not flushed"); }
  field_writer(const field_writer&) = delete;
  field_writer& operator=(const field_writer&) = delete;

  void put_byte(uint8_t b) {
    room(1);
    buf_[n_++] = b;
  }
  void put_varint(int64_t v) {
    room(varint::max_bytes);
    n_ += varint::encode(v, buf_ + n_);
  }
  void put_bytes_field(std::optional<std::string_view> v) {
    if (!v) return put_varint(-1);
    put_varint(static_cast<int64_t>(v->size()));
    if (v->size() > inline_max) {
      flush();
      out_.append(v->data(), v->size());
      return;
    }
    room(v->size());
    if (!v->empty()) std::memcpy(buf_ + n_, v->data(), v->size());
    n_ += v->size();
  }
  void flush() {
    if (n_ == 0) return;
    out_.append(reinterpret_cast<const char*>(buf_), n_);
    n_ = 0;
  }

 private:
  static constexpr size_t inline_max = 64;
  void room(size_t k) {
    if (n_ + k > sizeof buf_) flush();
  }

  std::string& out_;
  uint8_t buf_[256];
  size_t n_ = 0;
};

void record_batch_builder::add(std::optional<std::string_view> key,
                               std::optional<std::string_view> value, timestamp_ms ts,
                               const std::vector<record_header>& headers) {
  add_record(key, value, ts, nullptr, headers);
}

void record_batch_builder::add(std::optional<std::string_view> key,
                               std::optional<std::string_view> value, timestamp_ms ts,
                               const record_header_view& first,
                               const std::vector<record_header>& headers) {
  add_record(key, value, ts, &first, headers);
}

void record_batch_builder::add_record(std::optional<std::string_view> key,
                                      std::optional<std::string_view> value, timestamp_ms ts,
                                      const record_header_view* first,
                                      const std::vector<record_header>& headers) {
  const auto header_count = static_cast<int64_t>(headers.size() + (first ? 1 : 0));
  size_t headers_bytes = 0;
  if (first) headers_bytes += bytes_field_size(first->key) + bytes_field_size(first->value);
  for (const auto& h : headers) {
    headers_bytes += bytes_field_size(std::string_view(h.key));
    headers_bytes += h.value ? bytes_field_size(std::string_view(*h.value)) : varint::size(-1);
  }
  field_writer w(buf_);
  begin_record(w, key, value, ts, headers_bytes, header_count);
  if (first) {
    w.put_bytes_field(first->key);
    w.put_bytes_field(first->value);
  }
  for (const auto& h : headers) {
    w.put_bytes_field(std::string_view(h.key));
    w.put_bytes_field(h.value ? std::optional<std::string_view>(*h.value) : std::nullopt);
  }
  w.flush();
  ++count_;
}

void record_batch_builder::add(std::optional<std::string_view> key,
                               std::optional<std::string_view> value, timestamp_ms ts,
                               const record_header_view& first,
                               std::span<const record_header_view> headers) {
  size_t headers_bytes = bytes_field_size(first.key) + bytes_field_size(first.value);
  for (const auto& h : headers) {
    headers_bytes += bytes_field_size(h.key) + bytes_field_size(h.value);
  }
  field_writer w(buf_);
  begin_record(w, key, value, ts, headers_bytes, static_cast<int64_t>(headers.size() + 1));
  w.put_bytes_field(first.key);
  w.put_bytes_field(first.value);
  for (const auto& h : headers) {
    w.put_bytes_field(h.key);
    w.put_bytes_field(h.value);
  }
  w.flush();
  ++count_;
}

void record_batch_builder::add(const record_view& r) {
  size_t headers_bytes = 0;
  for (const auto& h : r.headers) {
    headers_bytes += bytes_field_size(h.key) + bytes_field_size(h.value);
  }
  field_writer w(buf_);
  begin_record(w, r.key, r.value, r.timestamp, headers_bytes,
               static_cast<int64_t>(r.headers.size()));
  for (const auto& h : r.headers) {
    w.put_bytes_field(h.key);
    w.put_bytes_field(h.value);
  }
  w.flush();
  ++count_;
}

void record_batch_builder::begin_record(field_writer& w, std::optional<std::string_view> key,
                                        std::optional<std::string_view> value, timestamp_ms ts,
                                        size_t headers_bytes, int64_t header_count) {
  if (count_ == 0) first_ts_ = max_ts_ = ts;
  // Timestamps before the first record's are stored as negative deltas; the
  // batch's first_timestamp stays the first record's, max_timestamp the max.
  if (ts > max_ts_) max_ts_ = ts;
  // Modular: a timestamp 2^63 ms or more from the first record's cannot be
  // stored, and the batch then fails validation instead of overflowing here.
  int64_t ts_delta =
      static_cast<int64_t>(static_cast<uint64_t>(ts()) - static_cast<uint64_t>(first_ts_()));
  int64_t off_delta = count_;
  size_t body = 1 + varint::size(ts_delta) + varint::size(off_delta) + bytes_field_size(key) +
                bytes_field_size(value) + varint::size(header_count) + headers_bytes;
  buf_.reserve(buf_.size() + body + varint::max_bytes);
  w.put_varint(static_cast<int64_t>(body));
  w.put_byte(0);  // attributes
  w.put_varint(ts_delta);
  w.put_varint(off_delta);
  w.put_bytes_field(key);
  w.put_bytes_field(value);
  w.put_varint(header_count);
}

std::string record_batch_builder::build() {
  std::string out = build_without_crc();
  store_crc({reinterpret_cast<uint8_t*>(out.data()), out.size()});
  return out;
}

std::string record_batch_builder::build_without_crc() {
  auto* p = reinterpret_cast<uint8_t*>(buf_.data());
  store_le<int64_t>(p + L::base_offset, 0);
  store_le<int32_t>(p + L::batch_length, static_cast<int32_t>(buf_.size() - L::length_prefix));
  p[L::magic] = L::current_magic;
  p[L::magic + 1] = 0;
  store_le<uint16_t>(p + L::attributes, attributes_);
  store_le<int32_t>(p + L::last_offset_delta, count_ - 1);
  store_le<int64_t>(p + L::first_timestamp, first_ts_());
  store_le<int64_t>(p + L::max_timestamp, max_ts_());
  store_le<int64_t>(p + L::producer_id, producer_id_);
  store_le<int16_t>(p + L::producer_epoch, producer_epoch_);
  store_le<int32_t>(p + L::base_sequence, base_sequence_);
  store_le<int32_t>(p + L::record_count, count_);
  store_le<uint32_t>(p + L::crc, 0);
  std::string out = std::move(buf_);
  reset();
  return out;
}

}  // namespace actormq::storage
