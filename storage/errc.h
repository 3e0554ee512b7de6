#pragma once
// Error values of the storage module. Every fallible storage call returns a
// result<T> holding either its value or a std::error_code in this category
// (or the system category for unexpected errno values); nothing throws.

#include <string>
#include <system_error>

namespace actormq::storage {

enum class errc {
  success = 0,
  io_error,             ///< read/write/fsync failed (see the log for errno)
  disk_full,            ///< ENOSPC / EDQUOT while writing
  permission_denied,    ///< EACCES / EPERM / EROFS
  not_found,            ///< file or directory does not exist
  invalid_batch,        ///< a batch handed to append is malformed (length, counts, magic)
  crc_mismatch,         ///< a batch's CRC32C does not match its bytes
  batch_too_large,      ///< a batch exceeds the configured maximum size
  offset_out_of_range,  ///< read below the log start or above the log end
  log_closed,           ///< the log was closed or hit a fatal write error
  corrupt_segment,      ///< a segment failed validation (quarantined on open), or a read met
                        ///< a corrupt batch header (nothing from it on is served)
  invalid_argument,     ///< bad configuration or argument
  offset_mismatch,      ///< replicated batches do not start at the log end or leave a gap/overlap
  corrupt_checkpoint,   ///< a checkpoint file (high-watermark, leader-epoch-checkpoint) is
                        ///< unreadable
  stale_leader_epoch,   ///< a leader epoch below the latest one, at an offset not before it
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// Maps an errno value to our errc where one fits (ENOSPC -> disk_full...),
/// keeping the system category otherwise.
std::error_code from_errno(int e) noexcept;

}  // namespace actormq::storage

template <>
struct std::is_error_code_enum<actormq::storage::errc> : std::true_type {};
