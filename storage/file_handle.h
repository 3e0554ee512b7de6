#pragma once
// RAII owner of a file descriptor with error-code wrappers around the POSIX
// calls the log uses. Shared (via shared_ptr) between a segment and readers
// that send from it, so retention can unlink a segment while a sendfile from
// it is still running.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

#include "storage/result.h"
#include "storage/types.h"

namespace actormq::storage {

class file_handle {
 public:
  /// Opens (and with create, creates) path for reading and writing.
  static result<std::shared_ptr<file_handle>> open(const std::filesystem::path& path, bool create);

  file_handle(const file_handle&) = delete;
  file_handle& operator=(const file_handle&) = delete;
  ~file_handle();

  int fd() const { return fd_; }
  const std::filesystem::path& path() const { return path_; }

  result<uint64_t> size() const;
  /// Writes all of data at pos (retries short writes and EINTR).
  status write_at(file_position pos, std::span<const uint8_t> data);
  /// Reads exactly out.size() bytes at pos; invalid_argument on EOF first.
  status read_at(file_position pos, std::span<uint8_t> out) const;
  /// Reads up to out.size() bytes at pos; returns the count (short at EOF).
  result<size_t> read_some_at(file_position pos, std::span<uint8_t> out) const;
  status truncate(uint64_t size);
  status datasync();

 private:
  file_handle(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::filesystem::path path_;
};

/// fsyncs a directory so that created/renamed/unlinked entries are durable.
status sync_directory(const std::filesystem::path& dir);

/// Writes data to path atomically: write a temp file, fsync, rename, fsync dir.
status write_file_atomic(const std::filesystem::path& path, std::span<const uint8_t> data);

/// Writes data at position at of path, creating the file; with
/// truncate_first the file is emptied first (a rewrite). Not synced.
status write_file_at(const std::filesystem::path& path, file_position at,
                     std::span<const uint8_t> data, bool truncate_first);

/// Deletes path; not an error when it does not exist.
status remove_file(const std::filesystem::path& path);

/// Reads a whole (small) file.
result<std::string> read_file(const std::filesystem::path& path);

}  // namespace actormq::storage
