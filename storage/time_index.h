#pragma once
// Sparse time index of one segment: <base_offset:020>.timeindex.
//
// File format: a sequence of 12-byte entries, no header:
//   int64  LE timestamp         greatest record timestamp (ms) seen in the
//                               segment up to and including the indexed batch
//   uint32 LE relative_offset   first offset of the batch after which that
//                               maximum held
// Entries grow strictly in timestamp. Lookup of a time T: the greatest entry
// with timestamp < T gives an offset from which to scan forward for the first
// batch whose max_timestamp >= T. Rebuilt from the .log when missing or bad.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "storage/result.h"
#include "storage/types.h"

namespace actormq::storage {

class time_index {
 public:
  struct entry {
    timestamp_ms ts;
    relative_offset rel;
  };
  static constexpr size_t entry_size = 12;

  explicit time_index(std::filesystem::path path) : path_(std::move(path)) {}

  /// Records that batch at rel brought the segment's max timestamp to ts;
  /// ignored unless ts grows.
  void add(timestamp_ms ts, relative_offset rel);
  /// Greatest entry with ts < target: scanning from its offset finds the first
  /// batch with a timestamp >= target. nullopt: scan from the segment start.
  std::optional<entry> lookup_before(timestamp_ms target) const;
  void truncate(relative_offset target);
  void clear();

  status load();
  status flush();
  status remove_file();

  const std::vector<entry>& entries() const { return entries_; }

 private:
  std::filesystem::path path_;
  std::vector<entry> entries_;
  size_t persisted_ = 0;
  bool rewrite_ = true;
};

}  // namespace actormq::storage
