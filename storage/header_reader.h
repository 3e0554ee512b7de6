#pragma once
// Reads batch headers of one segment's .log through a buffer: one pread
// serves every header inside a window (64 KiB at most) instead of one pread
// per header. A fetch of 1 MiB over 200-byte batches walked ~5000 headers,
// each its own syscall; now ~16.
//
// Used for one walk (a read, a locate, a load) and then dropped: it holds a
// copy of bytes that a later append or truncation does not update, so it
// must not outlive the call that made it.

#include <cstdint>
#include <optional>
#include <vector>

#include "storage/file_handle.h"
#include "storage/record_batch.h"
#include "storage/result.h"

namespace actormq::storage {

class header_reader {
 public:
  /// Reads file up to size (the segment's data end), window bytes at most
  /// per pread.
  header_reader(const file_handle& file, uint64_t size, size_t window = default_window);

  /// The header of the batch at pos, or nullopt when pos + header_size
  /// passes size.
  result<std::optional<batch_header>> at(uint64_t pos);

  /// preads made so far (for tests).
  uint32_t reads() const { return reads_; }

  static constexpr size_t default_window = 64 * 1024;

 private:
  const file_handle& file_;
  uint64_t size_;
  size_t window_;
  std::vector<uint8_t> buf_;
  uint64_t buf_pos_ = 0;  ///< file position of buf_[0]
  size_t buf_len_ = 0;    ///< valid bytes in buf_
  /// After a refill served a single header (batches larger than the
  /// window), refills read the header alone: copying a window per large
  /// batch would cost more than the syscall it saves.
  bool header_only_ = false;
  uint32_t served_since_refill_ = 0;
  uint32_t reads_ = 0;
};

}  // namespace actormq::storage
