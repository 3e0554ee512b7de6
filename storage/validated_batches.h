#pragma once
// validated_batches: record batches laid back to back that a log has
// validated for an append (log::validate): each batch's position and
// header, checked as that log checks (header and CRC, every record with
// validate_records). log::append(validated_batches) writes them without
// checking them again, so an owner that must read the first batch's
// producer fields before it appends (the partition's idempotence check)
// reads each byte once instead of twice for the CRC.
//
// Only a log makes one, over bytes the caller keeps alive and unchanged
// until the append; the append writes each batch's base_offset in place
// (outside the CRC).

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "storage/record_batch.h"

namespace actormq::storage {

class validated_batches {
 public:
  /// The whole bytes, every batch.
  std::span<uint8_t> bytes() const { return bytes_; }
  /// (position in bytes(), header) of each batch, in order; never empty.
  const std::vector<std::pair<size_t, batch_header>>& batches() const { return parsed_; }
  const batch_header& first() const { return parsed_.front().second; }
  /// Records over all batches.
  int64_t record_count() const {
    int64_t n = 0;
    for (const auto& [at, h] : parsed_) n += h.record_count;
    return n;
  }

 private:
  friend class log;
  validated_batches(std::span<uint8_t> bytes, std::vector<std::pair<size_t, batch_header>> parsed)
      : bytes_(bytes), parsed_(std::move(parsed)) {}

  std::span<uint8_t> bytes_;
  std::vector<std::pair<size_t, batch_header>> parsed_;
};

}  // namespace actormq::storage
