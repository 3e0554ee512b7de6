#pragma once
// One offset kept durably in a small file of its own. The log keeps its
// logical start in <partition dir>/log_start with it; the partition keeps its
// high watermark in <partition dir>/high-watermark.
//
// File format (ASCII text, the same since log_start was introduced):
//
//   <offset>\n        the offset in decimal, digits only (no sign, no leading
//                     '+', no spaces), then exactly one newline; nothing else.
//
// Written atomically (write_file_atomic: <path>.tmp, fdatasync, rename, fsync
// the directory), so a reader sees the old or the new file, never a torn one.
// There is no checksum: the file is a few bytes replaced whole, and what
// the strict parse cannot catch (a flipped digit) is bounded by the callers,
// which clamp the value to the log (the high watermark to the log end, the log
// start to the log end).
//
// read(): a missing file is nullopt (nothing was ever written), anything that
// is not exactly the format above is errc::corrupt_checkpoint with a detail
// naming the file and what is wrong.
//
// Not thread-safe; one owner writes it.

#include <filesystem>
#include <optional>

#include "storage/result.h"
#include "storage/types.h"

namespace actormq::storage {

class offset_checkpoint {
 public:
  explicit offset_checkpoint(std::filesystem::path path) : path_(std::move(path)) {}

  /// The stored offset, nullopt when the file does not exist.
  result<std::optional<offset>> read() const;
  /// Replaces the file atomically with o (o >= 0, else invalid_argument).
  status write(offset o) const;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace actormq::storage
