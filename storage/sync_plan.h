#pragma once
// One sync of a log, planned by its owner (log::sync_target()) and run on any
// thread (the broker's flusher, or log::flush() itself): the closed segments
// no sync has covered yet, oldest first, then the active segment, then the
// log's directory when a roll created a segment since the last sync. Once
// run() has succeeded, every offset below up_to is on disk; the owner then
// calls log::mark_flushed(plan.ticket()). When the plan covers closed
// segments, run() also raises the log's recovery point (recovery_point.h), so
// that recovery after an unclean shutdown trusts them again.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "storage/file_handle.h"
#include "storage/recovery_point.h"
#include "storage/result.h"
#include "storage/types.h"

namespace actormq::storage {

/// What a finished sync_plan vouches for, handed back to log::mark_flushed().
struct sync_ticket {
  offset up_to{0};     ///< offsets below it are on disk
  uint64_t epoch = 0;  ///< the recovery point's epoch when planned (truncations void it)
  uint64_t rolls = 0;  ///< the log's roll count when planned; the directory covers them
};

struct sync_plan {
  std::vector<std::shared_ptr<file_handle>> files;  ///< closed segments first, the active last
  size_t closed = 0;                                ///< how many of files are closed segments
  bool sync_directory = false;            ///< a roll created a segment since the last sync
  std::filesystem::path directory;        ///< the log's; set only when sync_directory
  std::shared_ptr<recovery_point> point;  ///< raised to up_to when closed > 0
  sync_ticket done;                       ///< what run() vouches for

  /// fdatasyncs the files in order, then the directory, then raises the
  /// recovery point. The first failed sync is returned (naming the file) and
  /// nothing after it is tried; a failed write of the recovery point is only
  /// logged (the data is synced).
  status run() const;
  offset up_to() const { return done.up_to; }
  const sync_ticket& ticket() const { return done; }
};

}  // namespace actormq::storage
