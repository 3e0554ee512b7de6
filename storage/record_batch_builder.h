#pragma once
// Builds one record batch in the format of record_batch.h. Producers encode
// their records once, here; the broker appends the bytes as they are.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/record_batch.h"
#include "storage/types.h"

namespace actormq::storage {

struct record_header {
  std::string key;
  std::optional<std::string> value;
};

/// Not thread-safe; reusable after build() via reset().
class record_batch_builder {
 public:
  record_batch_builder();

  /// Producer identity for idempotent produce (defaults: -1 = none).
  void set_producer(int64_t producer_id, int16_t epoch, int32_t base_sequence);
  void set_attributes(uint16_t attributes) { attributes_ = attributes; }

  /// Adds one record with the given timestamp (ms since epoch).
  void add(std::optional<std::string_view> key, std::optional<std::string_view> value,
           timestamp_ms ts, const std::vector<record_header>& headers = {});
  /// The same with `first` written as the record's first header, ahead of
  /// `headers` (the client's message id, without building a string for it).
  void add(std::optional<std::string_view> key, std::optional<std::string_view> value,
           timestamp_ms ts, const record_header_view& first,
           const std::vector<record_header>& headers);
  /// The same with the headers as views (nothing copied before the batch).
  void add(std::optional<std::string_view> key, std::optional<std::string_view> value,
           timestamp_ms ts, const record_header_view& first,
           std::span<const record_header_view> headers);

  /// Adds a decoded record as it is (key, value, timestamp and headers of
  /// a record_view, e.g. one of another batch's records).
  void add(const record_view& r);

  int32_t record_count() const { return count_; }
  /// Bytes the batch will take once built.
  size_t size_bytes() const { return buf_.size(); }
  bool empty() const { return count_ == 0; }

  /// Finishes the batch (header fields, CRC) and returns its bytes; the
  /// builder is reset afterwards. base_offset is 0 (the broker assigns it).
  std::string build();
  /// build() without the CRC, for a caller that rewrites the producer
  /// fields of the header and computes the CRC then (the client's stamp):
  /// one pass over the bytes instead of two. Not valid until it does.
  std::string build_without_crc();
  void reset();
  /// reset() into `buffer`, keeping its capacity: a buffer of a batch that
  /// was sent, reused, costs no allocation, no growth copies and no page
  /// faults (docs/benchmarks.md, W2).
  void reset(std::string buffer);

 private:
  void add_record(std::optional<std::string_view> key, std::optional<std::string_view> value,
                  timestamp_ms ts, const record_header_view* first,
                  const std::vector<record_header>& headers);
  /// Gathers a record's small fields and appends them in as few calls as it
  /// can (record_batch_builder.cpp).
  class field_writer;
  /// Writes the record's length, attributes, deltas, key, value and header
  /// count through w; the caller writes the headers and flushes w.
  void begin_record(field_writer& w, std::optional<std::string_view> key,
                    std::optional<std::string_view> value, timestamp_ms ts, size_t headers_bytes,
                    int64_t header_count);

  std::string buf_;
  int32_t count_ = 0;
  timestamp_ms first_ts_{0};
  timestamp_ms max_ts_{0};
  int64_t producer_id_ = -1;
  int16_t producer_epoch_ = -1;
  int32_t base_sequence_ = -1;
  uint16_t attributes_ = 0;
};

}  // namespace actormq::storage
