#pragma once
// The recovery point of a log: the offset below which every closed segment is
// known to be on disk, kept in <log dir>/recovery-point (the format of
// offset_checkpoint.h: the offset in decimal and a newline, replaced
// atomically).
//
// A roll does not sync the segment it closes: the owner's next sync does (the
// group-commit flusher, or log::flush()), off the append path. Until then a
// power loss may leave holes in a closed segment that a header walk does not
// see, so recovery after an unclean shutdown CRC-checks every closed segment
// that ends past this point, as it does the tail. A sync that covered closed
// segments raises the point once it has returned (advance); a truncation
// lowers it first (lower), and a sync planned before that lowering no longer
// raises it: the offsets it covered may since hold other, unsynced batches.
//
// Thread-safe: the log's owner lowers it, a flusher thread advances it.

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>

#include "storage/offset_checkpoint.h"
#include "storage/result.h"
#include "storage/types.h"

namespace actormq::storage {

class recovery_point {
 public:
  explicit recovery_point(std::filesystem::path file) : file_(std::move(file)) {}

  /// Reads the file: nullopt when it does not exist (a log made before the
  /// recovery point, whose rolls synced every closed segment).
  result<std::optional<offset>> load();
  /// The point last read or written.
  offset value() const;
  /// Changes with every lower(); a sync plan carries the epoch it was made in.
  uint64_t epoch() const;
  /// Persists o when it is above the point and no lower() ran since epoch.
  status advance(offset o, uint64_t epoch);
  /// Persists o when it is below the point (or none was written yet), and
  /// voids every advance planned before.
  status lower(offset o);
  /// Persists o as it is (a log being created, or recovery's result).
  status reset(offset o);

 private:
  /// Writes the file and remembers o; mu_ held.
  status store(offset o);

  mutable std::mutex mu_;
  offset_checkpoint file_;
  offset value_{0};
  bool written_ = false;  ///< the file holds value_
  uint64_t epoch_ = 0;
};

}  // namespace actormq::storage
