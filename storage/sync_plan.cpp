#include "storage/sync_plan.h"

#include "storage/logger.h"

namespace actormq::storage {

status sync_plan::run() const {
  for (const auto& f : files) {
    if (auto st = f->datasync(); !st) return {st.error(), "fdatasync " + f->path().string()};
  }
  // A new segment's name must be on disk before its batches count as synced.
  if (sync_directory) {
    if (auto st = storage::sync_directory(directory); !st) {
      return {st.error(), "fsync directory " + directory.string()};
    }
  }
  if (closed == 0) return {};
  // The data is on disk whatever happens here: a point left low only makes
  // recovery check more segments than it must.
  if (auto st = point->advance(done.up_to, done.epoch); !st) {
    logger().warn("{} (recovery will CRC-check closed segments past {})", st.message(),
                  point->value()());
  }
  return {};
}

}  // namespace actormq::storage
