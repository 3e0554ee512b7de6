#pragma once
// delay::legacy_schedule: the pending delayed messages a previous release
// left in <data>/delay, read once so the DELAY SCHEDULE actor can move them
// onto __delay_schedule (the upgrade migration, docs/delay-scheduler.md).
// Plain class, no actors.
//
// The previous release kept, per broker:
//   <data>/delay/log/       a storage::log of envelope batches
//                           (schedule_envelope.h), one per delayed produce
//   <data>/delay/schedule/  a storage::schedule_store of (due, kind 0,
//                           envelope offset) entries, bucketed by due time
//
// The migration takes a bucket at a time, in due order, and within it
// chunks of entries cut only where the due time changes:
//   next_chunk()  the envelopes of the next chunk (read from the log);
//   done()        once the owner has every one acknowledged on
//                 __delay_schedule: the chunk's entries are marked delivered
//                 (a bucket finished is removed) and the store synced;
//   finish()      once no chunk is left: closes the files and removes
//                 <data>/delay.
// A crash between an acknowledged append and done() moves that chunk again
// on the next start: at most one chunk (max_chunk entries) is delivered
// twice, as the previous release's own recovery could. An entry whose
// envelope is unreadable is logged at ERROR and counted in `lost`.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "actors/delay/schedule_envelope.h"
#include "storage/log.h"
#include "storage/result.h"
#include "storage/schedule_store.h"

namespace actormq::delay {

class legacy_schedule {
 public:
  /// Opens dir (<data>/delay); nullptr when it holds no schedule store.
  /// bucket_width is the previous release's [delay].bucket_ms (the store
  /// keeps the width it was written with in any case).
  static storage::result<std::unique_ptr<legacy_schedule>> open(const std::filesystem::path& dir,
                                                                std::chrono::milliseconds width,
                                                                size_t max_chunk = 256);

  /// The next chunk's envelopes, in due order; empty once nothing is left
  /// (then call finish()). The chunk stays the same until done().
  storage::result<std::vector<schedule_envelope>> next_chunk();
  /// The chunk from next_chunk() is on __delay_schedule: mark it delivered.
  storage::status done();
  /// Closes the files and removes the directory.
  storage::status finish();

  uint64_t moved() const { return moved_; }
  uint64_t lost() const { return lost_; }
  size_t buckets_left() const { return store_->bucket_count(); }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  legacy_schedule() = default;
  storage::status load_next_bucket();
  /// The envelopes of the chunk from chunk_begin_ (sets chunk_end_).
  std::vector<schedule_envelope> read_chunk();

  std::filesystem::path dir_;
  size_t max_chunk_ = 256;
  std::unique_ptr<storage::log> log_;
  std::unique_ptr<storage::schedule_store> store_;
  /// The bucket being moved: its pending entries in due order (stable), and
  /// where the current chunk starts and ends in it.
  std::optional<storage::timestamp_ms> bucket_;
  std::vector<storage::schedule_entry> entries_;
  size_t chunk_begin_ = 0;
  size_t chunk_end_ = 0;
  size_t chunk_moved_ = 0;  ///< envelopes of the chunk handed out
  size_t chunk_lost_ = 0;   ///< entries of the chunk whose envelope is unreadable
  uint64_t moved_ = 0;
  uint64_t lost_ = 0;
};

}  // namespace actormq::delay
