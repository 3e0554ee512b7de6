#pragma once
// Sparse offset index of one segment: <base_offset:020>.index.
//
// File format: a sequence of 8-byte entries, no header:
//   uint32 LE relative_offset   offset of an indexed batch's first record minus
//                               the segment's base offset
//   uint32 LE position          byte position of that batch in the .log file
// Entries are strictly increasing in both fields. The log adds one entry when
// at least index_interval_bytes were appended since the previous one, so a
// lookup scans at most about that many bytes of batch headers.
//
// The index is kept in memory and written to its file on flush(); a missing,
// torn or inconsistent file is rebuilt from the .log by the segment.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "storage/result.h"
#include "storage/types.h"

namespace actormq::storage {

class offset_index {
 public:
  struct entry {
    relative_offset rel;
    file_position pos;
  };
  static constexpr size_t entry_size = 8;

  explicit offset_index(std::filesystem::path path) : path_(std::move(path)) {}

  /// Adds an entry; ignored unless both fields grow.
  void add(relative_offset rel, file_position pos);
  /// Greatest entry with rel <= target, or nullopt if none.
  std::optional<entry> lookup(relative_offset target) const;
  /// Greatest entry with pos <= target.
  std::optional<entry> lookup_position(file_position target) const;
  /// Drops entries with rel >= target.
  void truncate(relative_offset target);
  void clear();

  /// Loads the file; errc::corrupt_segment if its size or ordering is wrong or
  /// a position is not below max_position; not_found if it does not exist.
  status load(uint64_t max_position);
  /// Writes entries not yet on disk (rewrites the file after a truncate).
  status flush();
  status remove_file();

  const std::vector<entry>& entries() const { return entries_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::vector<entry> entries_;
  size_t persisted_ = 0;  // entries already in the file
  bool rewrite_ = true;   // file content no longer a prefix of entries_
};

}  // namespace actormq::storage
