#pragma once
// Processed ids in a file: survives a crash of the consumer, so a message
// processed just before a SIGKILL (its offset not yet committed) is
// skipped when the group redelivers it.
//
// The file is a sequence of 20-byte entries, each a message id (16 bytes)
// and the CRC32C of those bytes (4 bytes, little endian). mark() appends
// one entry and fdatasyncs before it returns. open() reads the last
// `capacity` entries into memory; a torn or corrupt tail (a crash in the
// middle of a write) is cut at the first bad entry, and the count cut is
// reported by truncated_entries(). Once the file holds 2 x capacity
// entries it is rewritten with the remembered ones (a temporary file,
// fsynced and renamed over it).
//
// One process at a time per file (nothing locks it).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "actormq/client/processed_store.h"

namespace actormq::client {

namespace detail {
class id_window;
}

class file_processed_store final : public processed_store {
 public:
  /// Opens (or creates) path. Fails with storage_error when the file cannot
  /// be opened or read.
  static result<std::unique_ptr<file_processed_store>> open(const std::string& path,
                                                            size_t capacity = 1000000);
  ~file_processed_store() override;
  file_processed_store(const file_processed_store&) = delete;
  file_processed_store& operator=(const file_processed_store&) = delete;

  result<bool> seen(const message_id& id) override;
  /// Appends and fdatasyncs; storage_error when the write or sync fails (the
  /// id then counts as not processed: do not commit its offset).
  result<void> mark(const message_id& id) override;

  size_t size() const;
  /// Entries cut from the tail at open() (a torn write).
  uint64_t truncated_entries() const { return truncated_; }
  const std::string& path() const { return path_; }

  static constexpr size_t entry_size = 20;

 private:
  file_processed_store(std::string path, size_t capacity);
  result<void> load();
  result<void> rewrite();

  std::string path_;
  int fd_ = -1;
  uint64_t entries_ = 0;  ///< in the file
  uint64_t truncated_ = 0;
  std::unique_ptr<detail::id_window> window_;
};

}  // namespace actormq::client
